import * as tf from '@tensorflow/tfjs';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: string;
  threads: number;
}

/**
 * Picks the fastest tfjs backend that loads here (tensorflow > wasm > cpu) unless one is asked for.
 * Minimal first version; the backend module grows kernels and thread control around it.
 */
export async function initBackend(pref: BackendPreference = 'auto'): Promise<BackendInfo> {
  const order: Exclude<BackendPreference, 'auto'>[] = pref === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [pref];
  for (const name of order) {
    try {
      if (name === 'tensorflow') await import('@tensorflow/tfjs-node' as string);
      if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, threads: 1 };
      }
    } catch {
      // not installed or failed to start: try the next one
    }
  }
  throw new Error(`no tfjs backend could start (tried ${order.join(', ')})`);
}
