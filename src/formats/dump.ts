import { TensorRef } from './tensor';

export type DumpFormat = 'pt' | 'pt-legacy' | 'safetensors' | 'npy' | 'npz';

/** A non-tensor value found in a dump: a scalar, a string, or an inert placeholder for a class we never construct. */
export interface ObjectEntry {
  name: string;
  type: 'int' | 'float' | 'str' | 'bool' | 'none' | 'bytes' | 'placeholder' | 'device' | 'dtype' | 'other';
  value?: number | string | boolean | null;
  class?: string;
}

/** One opened dump file: everything but tensor values, which are read on demand. */
export interface DumpFile {
  path: string;
  format: DumpFormat;
  metadata: Record<string, string> | null;
  tensors: TensorRef[];
  objects: ObjectEntry[];
  close(): void;
}

/** How an object entry reads in a listing: Python's repr where it differs from JSON (`1.0`), the class for placeholders. */
export function formatObjectValue(o: ObjectEntry): string {
  if (o.type === 'placeholder') return `<${o.class}>`;
  if (o.type === 'float' && typeof o.value === 'number' && Number.isInteger(o.value)) return `${o.value}.0`;
  if (o.class) return o.value === undefined ? `<${o.class}>` : `<${o.class}> ${JSON.stringify(o.value)}`;
  return JSON.stringify(o.value);
}
