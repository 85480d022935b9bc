/**
 * One task: read the task's frames one at a time (random access, only these frames) and
 * compute the requested analyses; one record per frame. A frame that cannot be read becomes a
 * record with `error` and the others go on. zeno runs each frame's walks on ctx.threads
 * threads.
 */
import { ErrorCode, InputError, ShoalError } from '../../errors.js';
import type { FrameReader } from '../../io/traj-file.js';
import { fileStamp, threadInputs, type InputCache } from '../inputs.js';
import type { RecordOutput, RunContext, RunOutput } from '../types.js';
import {
  centreOfGeometry, centreOfMass, radiusOfGyration, radiusOfGyrationMass, type Vec3,
} from './analyses.js';
import { atomRadii, checkAtoms, loadAtoms, type AtomInfo } from './atoms.js';
import type { FramesParams } from './params.js';
import { checkFramesRef, openTrajectory, type FramesRef } from './source.js';
import { prepareReference, superposedRmsd, type SuperposeReference } from './superpose.js';
import { prepareZeno, type ZenoResult } from './zeno.js';
import { zenoThreaded } from './zeno-threads.js';

/** The value of one frame's record: the requested analyses, in the order requested. */
export interface FrameValue {
  rg?: number;
  rg_mass?: number;
  cog?: Vec3;
  com?: Vec3;
  rmsd?: number;
  zeno?: ZenoResult;
}


/**
 * The superposition reference: read from the task's reader and prepared by the first task on
 * the agent that needs it (`atomsKey` names the atoms whose selection it uses).
 */
function referenceFor(inputs: InputCache, atomsKey: string, params: FramesParams, reader: FrameReader, atoms: AtomInfo): Promise<SuperposeReference> {
  const key = `frames-ref\0${atomsKey}\0${fileStamp(params.traj)}\0${params.refFrame}\0${params.select}`;
  return inputs.get(key, () => {
    const xyz = new Float64Array(3 * atoms.n);
    try {
      reader.readFrame(params.refFrame, xyz);
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`reference frame unreadable: ${err.message}`, err);
      throw err;
    }
    return prepareReference(xyz, params.select === 'heavy' ? atoms.heavy : atoms.all);
  });
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Per-task state shared by the frames of the task. */
interface FrameContext {
  params: FramesParams;
  atoms: AtomInfo;
  reference: SuperposeReference | null;
  radii: Float64Array | null;
  ctx: RunContext;
}

async function analyseFrame(xyz: Float64Array, frame: number, fc: FrameContext): Promise<FrameValue> {
  const { params, atoms } = fc;
  const n = atoms.n;
  const value: FrameValue = {};
  let cog: Vec3 | undefined;
  let com: Vec3 | undefined;
  for (const a of params.analyses) {
    switch (a) {
      case 'rg':
        cog ??= centreOfGeometry(xyz, n);
        value.rg = radiusOfGyration(xyz, n, cog);
        break;
      case 'cog':
        cog ??= centreOfGeometry(xyz, n);
        value.cog = cog;
        break;
      case 'rg_mass':
        com ??= centreOfMass(xyz, atoms.masses!, atoms.totalMass);
        value.rg_mass = radiusOfGyrationMass(xyz, atoms.masses!, atoms.totalMass, com);
        break;
      case 'com':
        com ??= centreOfMass(xyz, atoms.masses!, atoms.totalMass);
        value.com = com;
        break;
      case 'rmsd':
        value.rmsd = superposedRmsd(fc.reference!, xyz);
        break;
      case 'zeno': {
        const problem = prepareZeno(xyz, fc.radii!, { tolerance: params.tolerance });
        value.zeno = await zenoThreaded(problem, params.seed, frame, params.walks, fc.ctx.threads, fc.ctx.signal);
        break;
      }
      default: {
        const unknown: never = a;
        throw new InputError(`unknown analysis ${String(unknown)}`);
      }
    }
  }
  return value;
}

function aborted(ctx: RunContext): ShoalError {
  return new ShoalError(ErrorCode.Aborted, `${ctx.task}: aborted`);
}

/** The frames kind's run. */
export async function runFrames(rawRef: unknown, params: FramesParams, ctx: RunContext): Promise<RunOutput> {
  const ref: FramesRef = checkFramesRef(rawRef, params);
  // The atoms and the rmsd reference are the same for every chunk of the trajectory: built
  // once per agent and shared by its workers (ctx.inputs), or once per thread without a store.
  const inputs = ctx.inputs ?? threadInputs;
  // The job and the files' stamps keep a re-run on changed files from finding the old inputs.
  const atomsKey = `frames-atoms\0${ctx.job}\0${fileStamp(params.top ?? params.traj)}\0${ref.atoms}`;
  const atoms = await inputs.get(atomsKey, () => loadAtoms(params, ref.atoms, ref.spans ?? []));
  if (atoms.n !== ref.atoms) {
    throw new InputError(`atom counts differ: ${atoms.source} has ${atoms.n} atoms, the trajectory ${ref.atoms}`);
  }
  checkAtoms(atoms, params); // expand did too; the files may have changed since
  const reader = openTrajectory(params, ref);
  try {
    const fc: FrameContext = {
      params,
      atoms,
      reference: params.analyses.includes('rmsd') ? await referenceFor(inputs, atomsKey, params, reader, atoms) : null,
      radii: params.analyses.includes('zeno') ? atomRadii(atoms, params.radii) : null,
      ctx,
    };
    const xyz = new Float64Array(3 * atoms.n);
    const records: RecordOutput[] = [];
    let sinceYield = 0;
    for (let frame = ref.first; frame <= ref.last; frame++) {
      if (ctx.signal.aborted) throw aborted(ctx);
      try {
        reader.readFrame(frame, xyz);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        records.push({ index: frame, error: err.toWire() });
        continue;
      }
      records.push({ index: frame, value: await analyseFrame(xyz, frame, fc) });
      // Let an abort message in now and then during long runs of cheap frames.
      sinceYield += atoms.n;
      if (sinceYield > 5_000_000) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
    return { records };
  } finally {
    reader.close();
  }
}
