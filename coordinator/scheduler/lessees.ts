/**
 * Who held each committed task that has a number: the agents whose copies of it the sink calls
 * duplicates rather than strangers' results. An agent number per task (4 bytes; 0: none), made
 * on the first commit, and a Map for the few tasks leased to several agents.
 */
export class CommittedLessees {
  private byNumber: Uint32Array | null = null;
  private readonly several = new Map<number, readonly string[]>();
  private readonly agentNo = new Map<string, number>();
  private readonly agentIds: string[] = [];
  /** The last agent numbered (commits come in runs from one agent). */
  private lastId = '';
  private lastNo = 0;

  constructor(private readonly tasks: number) {}

  /** Task number i was committed; `lessees` held it (see Task.lessees). */
  record(i: number, lessees: string | readonly string[] | null): void {
    if (lessees === null) return;
    if (typeof lessees !== 'string') {
      this.several.set(i, lessees);
      return;
    }
    let k = lessees === this.lastId ? this.lastNo : this.agentNo.get(lessees);
    if (k === undefined) {
      this.agentIds.push(lessees);
      this.agentNo.set(lessees, (k = this.agentIds.length));
    }
    this.lastId = lessees;
    this.lastNo = k;
    (this.byNumber ??= new Uint32Array(this.tasks))[i] = k;
  }

  /** The agents that held committed task number i. */
  of(i: number): readonly string[] {
    const k = this.byNumber?.[i] ?? 0;
    return k > 0 ? [this.agentIds[k - 1]!] : (this.several.get(i) ?? []);
  }
}
