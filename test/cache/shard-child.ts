/** Child process for the --shard auto test: resolves its part from the environment, then builds it (options as JSON in argv[2]). */
import { buildCache, type BuildCacheOptions } from '../../src/cache/writer.ts';
import { resolveShardOption } from '../../src/cli/shard-env.ts';

const opts = JSON.parse(process.argv[2]) as BuildCacheOptions;
const r = await buildCache({ ...opts, shard: resolveShardOption('auto', process.env), notice: () => {} });
process.stdout.write(JSON.stringify({ complete: r.complete, written: r.shardsWritten }));
