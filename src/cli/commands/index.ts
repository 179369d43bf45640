import type { CommandSpec } from '../args.ts';
import { augmentCommand } from './augment.ts';
import { cacheCommand } from './cache.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { generalCommand } from './general.ts';
import { predictCommand } from './predict.ts';
import { reportCommand } from './report.ts';
import { submitCommand } from './submit.ts';
import { runCommand } from './run.ts';
import { searchCommand } from './search.ts';
import { trainCommand } from './train.ts';

/** In the order a run goes through them; general distillation (before any task) comes on its own. */
export const COMMANDS: readonly CommandSpec[] = [runCommand, augmentCommand, cacheCommand, trainCommand, exportCommand, evalCommand, reportCommand, predictCommand, submitCommand, searchCommand, generalCommand];
