import { PyTuple, PySet, PyGlobal, Placeholder, PyFloat } from './pickle';
import { ObjectEntry } from './dump';
import { fail } from '../core/errors';

export interface TreeVisitor {
  isTensor(v: unknown): boolean;
  onTensor(name: string, v: unknown): void;
  onObject(o: ObjectEntry): void;
  /** Format-specific leaves (devices, dtypes); undefined for the generic handling. */
  describeLeaf?(v: unknown): Pick<ObjectEntry, 'type' | 'value'> | undefined;
}

export const MAX_TREE_DEPTH = 512;
const MAX_NODES = 1 << 22;

const join = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

const MODULE_GROUPS = new Set(['_parameters', '_buffers', '_modules']);
/** nn.Module's own bookkeeping, never data: hooks, versions, the non-persistent buffer set. */
const MODULE_BOOKKEEPING = /^_(.*hooks.*|version|non_persistent_buffers_set|is_full_backward_hook|state_dict_pre_hooks|load_state_dict_.*|compiled_call_impl)$/;

/**
 * Modules whose `__getstate__` is a tuple, not a dict: their fields named as the module's state_dict
 * names them. torch.ao's quantized ConvNd pickles (in_channels, out_channels, kernel_size, stride,
 * padding, dilation, transposed, output_padding, groups, padding_mode, weight, bias, scale,
 * zero_point, training).
 */
function stateTupleLayout(className: string, length: number): string[] | undefined {
  if (/\.quantized\..*\.Conv(Transpose)?[123]d$/.test(className) && length >= 14) {
    return [...Array.from({ length: 10 }, (_, i) => `state.${i}`), 'weight', 'bias', 'scale', 'zero_point'];
  }
  return undefined;
}

/** nn.Module-style state (`_parameters`, `_buffers`, `_modules`) is named as its state_dict would be. */
function moduleChildren(state: Map<unknown, unknown>): [string, unknown][] | undefined {
  if (!state.has('_parameters') && !state.has('_modules')) return undefined;
  const out: [string, unknown][] = [];
  for (const group of ['_parameters', '_buffers', '_modules']) {
    const g = state.get(group);
    if (g instanceof Map) for (const [k, v] of g) if (v !== null) out.push([String(k), v]);
  }
  for (const [k, v] of state) {
    const key = String(k);
    if (key === 'training' || MODULE_GROUPS.has(key) || MODULE_BOOKKEEPING.test(key)) continue;
    // Private attributes that hold data stay: torch.ao's quantized Linear keeps its weight in `_packed_params`.
    out.push([key, v]);
  }
  return out;
}

/**
 * Walks a decoded object tree once, naming every tensor by its path (keys joined with '.',
 * list indices as numbers, '' for a root tensor). Shared references are visited once, so a
 * memo-shared "billion laughs" structure costs its size on disk, not its expanded size; depth
 * is bounded, so a 100k-deep nesting is a clear error instead of a stack overflow.
 */
export function collectTree(root: unknown, visitor: TreeVisitor): void {
  checkExpansion(root);
  const seen = new Set<unknown>();
  let nodes = 0;
  // Iterative DFS in document order.
  const stack: { name: string; v: unknown; depth: number }[] = [{ name: '', v: root, depth: 0 }];
  while (stack.length) {
    const { name, v, depth } = stack.pop()!;
    if (++nodes > MAX_NODES) fail('limit-exceeded', `object tree has more than ${MAX_NODES} nodes`);
    if (depth > MAX_TREE_DEPTH) fail('limit-exceeded', `object tree is nested more than ${MAX_TREE_DEPTH} levels deep (pickle bomb?)`, name || '<root>');
    if (visitor.isTensor(v)) {
      visitor.onTensor(name, v);
      continue;
    }
    const leaf = visitor.describeLeaf?.(v);
    if (leaf) {
      visitor.onObject({ name, ...leaf });
      continue;
    }
    let children: [string, unknown][] | undefined;
    if (v instanceof Map || Array.isArray(v) || v instanceof PyTuple || v instanceof PySet || v instanceof Placeholder) {
      if (seen.has(v)) continue; // shared reference: already listed under its first name
      seen.add(v);
    }
    if (v instanceof Map) children = [...v].map(([k, c]) => [String(k), c]);
    else if (Array.isArray(v)) children = v.map((c, i) => [String(i), c]);
    else if (v instanceof PyTuple || v instanceof PySet) children = v.items.map((c, i) => [String(i), c]);
    else if (v instanceof Placeholder) {
      visitor.onObject({ name, type: 'placeholder', class: v.className });
      const st = v.state instanceof PyTuple && v.state.items[0] instanceof Map ? v.state.items[0] : v.state;
      const layout = st instanceof PyTuple ? stateTupleLayout(v.className, st.items.length) : undefined;
      children =
        st instanceof Map
          ? (moduleChildren(st) ?? [...st].map(([k, c]) => [String(k), c]))
          : layout
            ? (st as PyTuple).items.map((c, i): [string, unknown] => [layout[i] ?? `state.${i}`, c])
            : st === undefined || st === null
              ? []
              : [['state', st]];
      children.push(...v.args.map((c, i): [string, unknown] => [`args.${i}`, c]));
      children.push(...v.items.map((c, i): [string, unknown] => [`items.${i}`, c]));
      children.push(...v.dictItems.map(([k, c]): [string, unknown] => [String(k), c]));
    } else {
      visitor.onObject({ name, ...scalar(v) });
      continue;
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ name: join(name, children[i][0]), v: children[i][1], depth: depth + 1 });
  }
}

function scalar(v: unknown): Pick<ObjectEntry, 'type' | 'value' | 'class'> {
  if (v === null || v === undefined) return { type: 'none', value: null };
  if (typeof v === 'boolean') return { type: 'bool', value: v };
  if (v instanceof PyFloat) return { type: 'float', value: v.value };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: Number.isFinite(v) ? v : String(v) };
  if (typeof v === 'bigint') return { type: 'int', value: v.toString() };
  if (typeof v === 'string') return { type: 'str', value: v.length > 4096 ? `${v.slice(0, 4096)}…` : v };
  if (Buffer.isBuffer(v)) return { type: 'bytes', value: v.subarray(0, 256).toString('hex') };
  if (v instanceof PyGlobal) return { type: 'other', class: v.qualified };
  return { type: 'other', value: String(v) };
}

const MAX_EXPANDED = 1e9;

function childValues(v: unknown): unknown[] | undefined {
  if (v instanceof Map) return [...v.values()];
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple || v instanceof PySet) return v.items;
  if (v instanceof Placeholder) return [v.state, ...v.args, ...v.items, ...v.dictItems.map((kv) => kv[1])];
  return undefined;
}

/**
 * A memo-shared structure (a list holding the same list ten times, thirty levels deep) is tiny on
 * disk but expands to 10^30 leaves in any consumer that copies it. Real checkpoints share tensors,
 * never exponentially many containers, so such a file is refused.
 */
function checkExpansion(root: unknown): void {
  const size = new Map<unknown, number>();
  const stack: { v: unknown; expanded: boolean }[] = [{ v: root, expanded: false }];
  const onPath = new Set<unknown>();
  while (stack.length) {
    const top = stack[stack.length - 1];
    const kids = childValues(top.v);
    if (!kids || size.has(top.v)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      if (onPath.has(top.v)) {
        stack.pop();
        size.set(top.v, 1);
        continue;
      } // a cycle: counted once
      onPath.add(top.v);
      if (onPath.size > MAX_TREE_DEPTH + 1) fail('limit-exceeded', `object tree is nested more than ${MAX_TREE_DEPTH} levels deep (pickle bomb?)`);
      for (const k of kids) if (childValues(k) && !size.has(k)) stack.push({ v: k, expanded: false });
      continue;
    }
    let total = 1;
    for (const k of kids) total += childValues(k) ? (size.get(k) ?? 1) : 1;
    if (total > MAX_EXPANDED) fail('limit-exceeded', `shared references make the object tree expand to more than ${MAX_EXPANDED} nodes (pickle bomb?)`);
    size.set(top.v, total);
    onPath.delete(top.v);
    stack.pop();
  }
}
