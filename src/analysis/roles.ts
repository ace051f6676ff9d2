import { dumpStem } from '../formats/dumpFiles';

/** Splits `layer23_conv1d_input` into its layer prefix and role, the common per-tensor dump naming. */
export function splitLayerName(stem: string): { layer: string | null; role: string } {
  const m = /^(layer\d+_[a-z0-9]+(?:_proj)?)_(.+)$/i.exec(stem);
  if (m) return { layer: m[1], role: m[2] };
  return { layer: /^layer\d+_[a-z0-9]+$/i.test(stem) ? stem : null, role: stem };
}

/** The role of a tensor: its own last name component, or the file's role for a bare-tensor file. */
export function tensorRole(file: string, tensorName: string): string {
  if (tensorName) return tensorName.split('.').pop() ?? tensorName;
  return splitLayerName(dumpStem(file)).role;
}

/**
 * Scale keys to look for, most specific first. `ssm_input` in a Mamba dump is the conv output
 * that feeds the SSM, so it is quantized with the output scale. A bare `scale` is accepted for
 * activations only: beside a module's weight and bias it is the module's output scale
 * (torch.ao's `conv.scale`), never theirs.
 */
export function scaleKeysForRole(role: string): string[] {
  const r = role.toLowerCase();
  const keys = [`${role}_scale`];
  if (r.startsWith('weight')) return [...keys, 'weight_scale', 'w_scale'];
  if (r.startsWith('bias')) return [...keys, 'bias_scale'];
  if (r.startsWith('ssm_input') || r.startsWith('output') || r.startsWith('out')) keys.push('output_scale', 'out_scale');
  else if (r.includes('input')) keys.push('input_scale', 'x_scale', 'act_scale');
  keys.push('scale');
  return keys;
}

/** An "input" for the comparison guard: a name with `input` in it that is not the SSM's input (a conv output). */
export function isInputName(key: string): boolean {
  const k = key.toLowerCase();
  return k.includes('input') && !k.includes('ssm_input');
}
