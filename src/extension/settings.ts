import * as vscode from 'vscode';
import { VerifyOptions } from '../analysis/verify';
import { DeviceChoice, resolveDevice } from '../native/addon';

/** The user's settings as analysis options. */
export function verifyOptions(): VerifyOptions {
  const c = vscode.workspace.getConfiguration('quantLens');
  const threads = c.get<number>('threads', 0);
  return {
    tolerance: c.get<number>('tolerance', 1e-5),
    qmin: c.get<number>('integerRange.min', -128),
    qmax: c.get<number>('integerRange.max', 127),
    threads: threads > 0 ? threads : undefined,
    device: resolveDevice(c.get<DeviceChoice>('device', 'auto')),
  };
}

export const maxConcurrentFiles = (): number => Math.max(1, vscode.workspace.getConfiguration('quantLens').get<number>('maxConcurrentFiles', 4));
