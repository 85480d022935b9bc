/**
 * The committed tasks of one output and the status of each: the sink's exactly-once set. A
 * job whose tasks have numbers (`TaskNumbers`) keeps a byte per task (ten million tasks: 10 MB,
 * where a Map of ids took over 500 MB); ids that are not task numbers (halves of split tasks,
 * rows of other runs) and jobs without numbers go in a Map.
 */

/** How ids map to task numbers, 0..length-1 (from the job's expansion). */
export interface TaskNumbers {
  readonly length: number;
  /** The number of the task with this id, or -1. */
  indexOf(id: string): number;
  /** The id of task number i. */
  idOf(i: number): string;
}

type Status = 'ok' | 'error';
const NONE = 0;
const OK = 1;
const ERROR = 2;

export class TaskStatusSet {
  private readonly byNumber: Uint8Array;
  private readonly others = new Map<string, Status>();
  private numbered = 0;

  constructor(private readonly numbers: TaskNumbers | null = null) {
    this.byNumber = new Uint8Array(numbers?.length ?? 0);
  }

  get size(): number {
    return this.numbered + this.others.size;
  }

  private number(id: string): number {
    return this.numbers === null ? -1 : this.numbers.indexOf(id);
  }

  get(id: string): Status | undefined {
    const i = this.number(id);
    return i < 0 ? this.others.get(id) : this.statusAt(i);
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  set(id: string, status: Status): this {
    const i = this.number(id);
    if (i < 0) this.others.set(id, status);
    else {
      if (this.byNumber[i] === NONE) this.numbered++;
      this.byNumber[i] = status === 'ok' ? OK : ERROR;
    }
    return this;
  }

  delete(id: string): boolean {
    const i = this.number(id);
    if (i < 0) return this.others.delete(id);
    if (this.byNumber[i] === NONE) return false;
    this.byNumber[i] = NONE;
    this.numbered--;
    return true;
  }

  /** The status of task number i (undefined: not committed). */
  statusAt(i: number): Status | undefined {
    const b = this.byNumber[i];
    return b === OK ? 'ok' : b === ERROR ? 'error' : undefined;
  }

  /** The ids that are not task numbers. */
  outsiders(): IterableIterator<string> {
    return this.others.keys();
  }

  *entries(): IterableIterator<[string, Status]> {
    for (let i = 0; i < this.byNumber.length; i++) {
      const s = this.statusAt(i);
      if (s !== undefined) yield [this.numbers!.idOf(i), s];
    }
    yield* this.others.entries();
  }

  *keys(): IterableIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  /** How many are ok and how many error. */
  tally(): { ok: number; error: number } {
    let error = 0;
    for (let i = 0; i < this.byNumber.length; i++) if (this.byNumber[i] === ERROR) error++;
    for (const s of this.others.values()) if (s === 'error') error++;
    return { ok: this.size - error, error };
  }

  /** A copy, without the ids of `without`. */
  copy(without: Iterable<string> = []): TaskStatusSet {
    const c = new TaskStatusSet(this.numbers);
    c.byNumber.set(this.byNumber);
    c.numbered = this.numbered;
    for (const [id, s] of this.others) c.others.set(id, s);
    for (const id of without) c.delete(id);
    return c;
  }
}
