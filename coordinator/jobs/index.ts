/** Jobs coming and going: admission, expansion, where outputs may go, and the records on disk. */
export { Admission, type AdmissionDeps, type Submitted } from './admission.js';
export { expandJob, splitterFor } from './expand.js';
export { endedEarlierStatus, ENDED_EARLIER } from './ended-status.js';
export { contentFingerprint, endedJob, legacyFingerprint, readJobRecord, type JobRecord } from './record.js';
