/**
 * RFC 6962 §2.1 Merkle tree over the custody log, shared by the server (which
 * stores the hashes of complete aligned subtrees) and by offline verifiers.
 *
 * Node (level k, index i) is the complete subtree over leaves [i·2^k, (i+1)·2^k);
 * level 0 holds the leaf hashes. Every hash the RFC recursion needs for a root,
 * an audit path or a consistency proof of ANY tree size is either such a
 * complete node or the hash of a range that ends at the tree's right edge, and
 * a right-edge range is a fold of at most log2(n) complete nodes. So a caller
 * can ask `*Nodes()` for the exact node list, fetch it in one query, and hand a
 * reader to the matching computation: O(log n) reads whatever the size.
 *
 * Sizes and indexes are plain numbers up to 2^53; JS bit operators are 32-bit,
 * hence arithmetic (`% 2`, `/ 2`) instead of shifts everywhere.
 *
 * The verifiers never throw on hostile input: anything malformed is `false`.
 * They insist on 32-byte hashes everywhere, which is stricter than the
 * transparency-dev test vectors that use short placeholder roots (see
 * docs/FORMATS.md, Part A).
 */
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

export type NodeKey = { level: number; index: number };
export type NodeReader = (level: number, index: number) => Buffer;
export type StoredNode = NodeKey & { hash: Buffer };

const LEAF_PREFIX = Buffer.from([0x00]);

/** SHA-256 of the empty string: the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');
export const EMPTY_ROOT_HEX = EMPTY_ROOT.toString('hex');

export function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Buffer {
  return hash('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return hash('sha256', buf, 'buffer');
}

// Hot path for whole-log verification. Node's crypto.hash is several times
// cheaper with a string digest than with a Buffer one (the Buffer allocation
// dominates for 65-byte inputs), so the accumulator works on hex strings and
// reuses one scratch buffer. Synchronous use only, so sharing it is safe.
const NODE_SCRATCH = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** Hex of SHA-256(0x01 ‖ left ‖ right) for two 64-digit lower-case hex hashes. */
export function nodeHashHex(leftHex: string, rightHex: string): string {
  NODE_SCRATCH.write(leftHex + rightHex, 1, 'hex');
  return hash('sha256', NODE_SCRATCH, 'hex');
}

const HEX32 = /^[0-9a-f]{64}$/;

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

/** Largest power of two strictly below n (n ≥ 2): the RFC 6962 split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && splitPoint(n * 2) === n;
}

function popCount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = half(x)) if (isOdd(x)) count++;
  return count;
}

/**
 * The complete nodes whose right fold is MTH of leaves [start, end), for the
 * ranges the RFC recursion produces (start is aligned to the largest power of
 * two not above end - start). Highest level first.
 */
function rangeNodes(start: number, end: number): NodeKey[] {
  const nodes: NodeKey[] = [];
  let width = 1;
  while (width * 2 <= end - start) width *= 2;
  let level = Math.round(Math.log2(width));
  let pos = start;
  for (; width >= 1; width /= 2, level--) {
    if (pos + width <= end) {
      nodes.push({ level, index: pos / width });
      pos += width;
    }
  }
  return nodes;
}

/** Each proof element is the right fold of the listed complete nodes. */
type Plan = NodeKey[][];

function inclusionPlan(leafIndex: number, size: number): Plan {
  const topDown: Plan = [];
  let start = 0;
  let n = size;
  let m = leafIndex;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      topDown.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      topDown.push(rangeNodes(start, start + k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return topDown.reverse();
}

function consistencyPlan(m: number, n: number): Plan {
  if (m <= 0 || m >= n) return [];
  const topDown: Plan = [];
  let start = 0;
  let size = n;
  let mm = m;
  let wholeSubtreeIsOld = true; // the RFC's boolean b in SUBPROOF
  for (;;) {
    if (mm === size) {
      if (!wholeSubtreeIsOld) topDown.push(rangeNodes(start, start + size));
      break;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      topDown.push(rangeNodes(start + k, start + size));
      size = k;
    } else {
      topDown.push(rangeNodes(start, start + k));
      start += k;
      mm -= k;
      size -= k;
      wholeSubtreeIsOld = false;
    }
  }
  return topDown.reverse();
}

function uniqueNodes(plan: Plan): NodeKey[] {
  const seen = new Set<string>();
  const out: NodeKey[] = [];
  for (const element of plan) {
    for (const node of element) {
      const key = `${node.level}/${node.index}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(node);
      }
    }
  }
  return out;
}

function read(get: NodeReader, node: NodeKey): Buffer {
  const h = get(node.level, node.index);
  if (!isHash(h)) throw new Error(`node reader returned no 32-byte hash for level ${node.level} index ${node.index}`);
  return h;
}

function foldRight(get: NodeReader, nodes: NodeKey[]): Buffer {
  const last = nodes[nodes.length - 1];
  if (last === undefined) throw new Error('empty subtree');
  let acc = read(get, last);
  for (let i = nodes.length - 2; i >= 0; i--) acc = nodeHash(read(get, nodes[i] as NodeKey), acc);
  return acc;
}

function assertSize(name: string, n: number): void {
  if (!isSize(n)) throw new RangeError(`${name} must be a non-negative safe integer`);
}

/** Complete nodes whose right fold is the root of a tree of `size` leaves; also the frontier's layout. */
export function rootNodes(size: number): NodeKey[] {
  assertSize('size', size);
  return size === 0 ? [] : rangeNodes(0, size);
}

export function inclusionProofNodes(leafIndex: number, size: number): NodeKey[] {
  assertSize('size', size);
  assertSize('leafIndex', leafIndex);
  if (leafIndex >= size) throw new RangeError('leafIndex must be below size');
  return uniqueNodes(inclusionPlan(leafIndex, size));
}

export function consistencyProofNodes(m: number, n: number): NodeKey[] {
  assertSize('m', m);
  assertSize('n', n);
  if (m > n) throw new RangeError('m must not exceed n');
  return uniqueNodes(consistencyPlan(m, n));
}

export function rootFromNodes(size: number, get: NodeReader): Buffer {
  const nodes = rootNodes(size);
  return nodes.length === 0 ? EMPTY_ROOT : foldRight(get, nodes);
}

/** RFC 6962 §2.1.1 PATH(leafIndex, D[size]), lowest level first. */
export function inclusionProof(leafIndex: number, size: number, get: NodeReader): Buffer[] {
  inclusionProofNodes(leafIndex, size); // argument checks
  return inclusionPlan(leafIndex, size).map((element) => foldRight(get, element));
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]); empty for m = n and for m = 0. */
export function consistencyProof(m: number, n: number, get: NodeReader): Buffer[] {
  consistencyProofNodes(m, n); // argument checks
  return consistencyPlan(m, n).map((element) => foldRight(get, element));
}

/**
 * Appends leaves to a tree of `size` leaves whose frontier (hashes of
 * rootNodes(size), in that order) is given. Returns every node of level ≥ 1
 * completed by the appends, for the caller to store next to the leaves, and
 * the new frontier.
 */
export function appendLeaves(
  size: number,
  frontier: readonly Uint8Array[],
  leafHashes: readonly Uint8Array[],
): { nodes: StoredNode[]; frontier: Buffer[] } {
  assertSize('size', size);
  const layout = rootNodes(size);
  if (frontier.length !== layout.length) {
    throw new RangeError(`a tree of size ${size} has a frontier of ${layout.length} hashes, got ${frontier.length}`);
  }
  const stack: Array<{ level: number; hash: Buffer }> = layout.map((node, i) => {
    const h = frontier[i];
    if (!isHash(h)) throw new RangeError('frontier hashes must be 32 bytes');
    return { level: node.level, hash: Buffer.from(h) };
  });
  const nodes: StoredNode[] = [];
  let next = size;
  for (const leaf of leafHashes) {
    if (!isHash(leaf)) throw new RangeError('leaf hashes must be 32 bytes');
    if (next + 1 > Number.MAX_SAFE_INTEGER) throw new RangeError('tree too large');
    let h: Buffer = Buffer.from(leaf);
    let level = 0;
    let index = next;
    for (let top = stack[stack.length - 1]; top !== undefined && top.level === level; top = stack[stack.length - 1]) {
      stack.pop();
      h = nodeHash(top.hash, h);
      level++;
      index = (index - 1) / 2; // the right child always has an odd index
      nodes.push({ level, index, hash: h });
    }
    stack.push({ level, hash: h });
    next++;
  }
  return { nodes, frontier: stack.map((s) => s.hash) };
}

/** RFC 9162 §2.1.3.2. False (never an exception) for anything malformed. */
export function verifyInclusion(
  leafIndex: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    if (!isSize(leafIndex) || !isSize(size) || leafIndex >= size) return false;
    if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof)) return false;
    let fn = leafIndex;
    let sn = size - 1;
    let r: Buffer = Buffer.from(leaf);
    for (const p of proof) {
      if (!isHash(p) || sn === 0) return false;
      if (isOdd(fn) || fn === sn) {
        r = nodeHash(p, r);
        if (!isOdd(fn)) {
          while (!isOdd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && sameBytes(r, root);
  } catch {
    return false;
  }
}

/**
 * RFC 9162 §2.1.4.2, which defines proofs for 0 < m < n. For m = n the proof
 * must be empty and the roots equal (for m = n = 0 both must be the empty-tree
 * root). m = 0 < n is false: a proof from the empty tree proves nothing, so
 * callers that want to accept it must decide that explicitly.
 */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  try {
    if (!isSize(m) || !isSize(n) || m > n) return false;
    if (!isHash(root1) || !isHash(root2) || !Array.isArray(proof)) return false;
    if (!proof.every(isHash)) return false;
    if (m === n) return proof.length === 0 && sameBytes(root1, root2) && (m > 0 || sameBytes(root1, EMPTY_ROOT));
    if (m === 0 || proof.length === 0) return false;
    const path: Uint8Array[] = isPowerOfTwo(m) ? [root1, ...proof] : [...proof];
    let fn = m - 1;
    let sn = n - 1;
    while (isOdd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    const first = path[0] as Uint8Array;
    let fr: Buffer = Buffer.from(first);
    let sr: Buffer = Buffer.from(first);
    for (let i = 1; i < path.length; i++) {
      const c = path[i] as Uint8Array;
      if (sn === 0) return false;
      if (isOdd(fn) || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        if (!isOdd(fn)) {
          while (!isOdd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
  } catch {
    return false;
  }
}

/**
 * Streaming root computation: push leaf hashes in order, read the root of the
 * tree so far at any time. Keeps one hash per set bit of the size (the
 * frontier), so memory is O(log n). Works on hex internally for speed.
 */
export class MerkleAccumulator {
  #stack: string[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(leafHash: Uint8Array): void {
    if (!isHash(leafHash)) throw new RangeError('leaf hash must be 32 bytes');
    this.#pushHex(Buffer.from(leafHash.buffer, leafHash.byteOffset, leafHash.byteLength).toString('hex'));
  }

  /** Same as push() for a 64-digit lower-case hex leaf hash. */
  pushHex(leafHashHex: string): void {
    if (!HEX32.test(leafHashHex)) throw new RangeError('leaf hash must be 64 lower-case hex digits');
    this.#pushHex(leafHashHex);
  }

  /**
   * pushHex() without the format check, for leaf hashes this process computed
   * itself (64 lower-case hex digits by construction).
   */
  pushComputedHex(leafHashHex: string): void {
    this.#pushHex(leafHashHex);
  }

  #pushHex(leafHex: string): void {
    let h = leafHex;
    // Each trailing 1-bit of the old size is a complete subtree the new leaf closes.
    for (let s = this.#size; s % 2 === 1; s = (s - 1) / 2) {
      h = nodeHashHex(this.#stack.pop() as string, h);
    }
    this.#stack.push(h);
    this.#size++;
  }

  rootHex(): string {
    const stack = this.#stack;
    if (stack.length === 0) return EMPTY_ROOT_HEX;
    let acc = stack[stack.length - 1] as string;
    for (let i = stack.length - 2; i >= 0; i--) acc = nodeHashHex(stack[i] as string, acc);
    return acc;
  }

  root(): Buffer {
    return Buffer.from(this.rootHex(), 'hex');
  }

  /** Hashes of rootNodes(size): what appendLeaves() takes to continue this tree. */
  frontier(): Buffer[] {
    return this.#stack.map((h) => Buffer.from(h, 'hex'));
  }
}
