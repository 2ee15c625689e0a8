import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { JobSlot } from '../domain/send';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { changed, conditional, expectation, jittered, newRev, revOf, type Expected } from './conditional';
import { requestKeys } from './keys';
import {
  documentOf,
  getRecordItem,
  pack,
  putRecordItem,
  recordDocument,
  ttlFor,
  unpack,
  writeMessage,
  type MessageRecord,
  type StoredRecord,
} from './messages';
import { getItem, parseStored, TABLE, type StoredItem } from './table';

/**
 * Job records (docs/decisions.md D12): the message records of a delivery job's recipients live in
 * one item, a slot each, instead of one item per recipient. A job's recipients are fixed by the
 * fan-out's outbox before the job is sent, so a slot is the recipient's for good, and its message
 * id names it (slotMessageId). The delivery worker writes every slot of a round in one conditional
 * write of the item (group commit, JobBatch); each slot has its own revision, so a write decided
 * from a slot as read fails only when that slot changed (a cancel, another worker), never because a
 * neighbour did: the writer re-reads the item and applies the slots that still match.
 *
 * A slot whose record would take the item past JOB_ITEM_LIMIT_BYTES is moved out, for good, to a
 * record item of its own (the `MSG#` key a message id of another form would have), and the slot
 * says so (`m`).
 */

/** Stored (compressed) bytes of a job item at most: DynamoDB's item limit is 400 KB. */
export const JOB_ITEM_LIMIT_BYTES = 300 * 1024;

const slotDoc = z.object({
  /** The record, packed (`pack`), when the slot holds it. */
  d: z.record(z.string(), z.unknown()).optional(),
  /** The record moved to its own item. */
  m: z.literal(1).optional(),
  /** The slot's revision. */
  v: z.string(),
  /** The slot's last write (epoch ms): the sweeper re-drives a record that stopped moving. */
  u: z.number(),
});
type SlotDoc = z.infer<typeof slotDoc>;
const jobDoc = z.object({ s: z.record(z.string(), slotDoc) });

/** A job item as read (or as last written by this process): its slots and its revision (none: absent). */
export interface LoadedJob {
  slots: Record<string, SlotDoc>;
  rev?: string;
}

const where = (requestId: string, at: Pick<JobSlot, 'outbox' | 'job'>) => {
  const key = requestKeys.job(requestId, at.outbox, at.job);
  return `${key.pk} / ${key.sk}`;
};

export function jobOf(item: StoredItem | undefined, requestId: string, at: Pick<JobSlot, 'outbox' | 'job'>): LoadedJob {
  if (!item) return { slots: {} };
  return { slots: parseStored(documentOf(item), jobDoc, where(requestId, at)).s, rev: revOf(item) ?? undefined };
}

/** The outbox and job of a job record's sort key (`JOB#<outbox>.<job>`, base36). */
export function jobAt(sk: string): Pick<JobSlot, 'outbox' | 'job'> {
  const [outbox, job] = sk.slice(requestKeys.jobPrefix.length).split('.');
  return { outbox: Number.parseInt(outbox, 36), job: Number.parseInt(job, 36) };
}

export async function loadJob(requestId: string, at: Pick<JobSlot, 'outbox' | 'job'>): Promise<LoadedJob> {
  return jobOf(await getItem(requestKeys.job(requestId, at.outbox, at.job)), requestId, at);
}

/** The record in a slot as the item holds it (undefined for a slot moved out, or none). */
export function slotRecord(job: LoadedJob, slot: number): StoredRecord | undefined {
  const s = job.slots[slot];
  if (!s?.d) return undefined;
  return { record: unpack(JSON.stringify(s.d), 'a job record slot'), expected: { rev: s.v }, updated: s.u };
}

/** Every record a job item holds, in slot order, with the slots moved out (their records are items of their own). */
export function jobRecords(job: LoadedJob): { stored: StoredRecord[]; moved: number[] } {
  const stored: StoredRecord[] = [];
  const moved: number[] = [];
  for (const slot of Object.keys(job.slots)
    .map(Number)
    .sort((a, b) => a - b)) {
    const s = slotRecord(job, slot);
    if (s) stored.push(s);
    else if (job.slots[slot].m) moved.push(slot);
  }
  return { stored, moved };
}

/** A slot's message as stored: from the job item, or from its own item once moved out. */
export async function storedSlot(job: LoadedJob, requestId: string, suffix: string, slot: number): Promise<StoredRecord | undefined> {
  if (job.slots[slot]?.m) return getRecordItem(requestId, suffix);
  return slotRecord(job, slot);
}

const matches = (s: SlotDoc | undefined, expected: Expected): boolean =>
  expected === 'absent' ? s === undefined : expected === 'present' ? s !== undefined : s?.v === expected.rev;

export interface SlotWrite {
  record: MessageRecord;
  slot: number;
  expected: Expected;
}

/**
 * Rounds of a job write whose item another writer changed meanwhile. A neighbour's write never
 * makes a slot's write fail (only a change of that slot does): the item is read again and the
 * writes whose slots still match are written again. Each lost round is a round another writer won,
 * so 25 writers of one job (25 recipients retried alone, each in its own run) all land well within
 * this; the bound is only a stop for what cannot happen.
 */
const JOB_WRITE_ATTEMPTS = 100;

/**
 * Writes records into their slots in one conditional write of the job item (`job`: the item as
 * last read or written here, updated in place). Returns, per write, what the slot's next write
 * expects, or undefined when the slot was not as the write expected (its writer re-reads and
 * decides again). A slot moved out is written as its own item. Other writers' changes to other
 * slots are not a conflict: the write is made again on the item as it is now (JOB_WRITE_ATTEMPTS).
 */
export async function writeSlots(
  requestId: string,
  at: Pick<JobSlot, 'outbox' | 'job'>,
  job: LoadedJob,
  writes: SlotWrite[],
): Promise<(Expected | undefined)[]> {
  const key = requestKeys.job(requestId, at.outbox, at.job);
  for (let attempt = 1; ; attempt++) {
    const results: (Expected | undefined)[] = writes.map(() => undefined);
    const slots = { ...job.slots };
    const outside: number[] = [];
    const applied: number[] = [];
    const t = now();
    writes.forEach((w, i) => {
      const current = slots[w.slot];
      if (current?.m) outside.push(i);
      else if (matches(current, w.expected)) {
        const v = newRev();
        slots[w.slot] = { d: JSON.parse(pack(w.record)) as Record<string, unknown>, v, u: t };
        results[i] = { rev: v };
        applied.push(i);
      }
    });
    if (applied.length) {
      let doc = recordDocument(JSON.stringify({ s: slots }), 0);
      // Too large for one item: the largest records written now move out, for good.
      while (docBytes(doc) > JOB_ITEM_LIMIT_BYTES && applied.length) {
        const largest = applied.reduce((a, b) => (JSON.stringify(slots[writes[a].slot].d).length >= JSON.stringify(slots[writes[b].slot].d).length ? a : b));
        applied.splice(applied.indexOf(largest), 1);
        const w = writes[largest];
        results[largest] = await putRecordItem(w.record);
        slots[w.slot] = { m: 1, v: newRev(), u: t };
        doc = recordDocument(JSON.stringify({ s: slots }), 0);
      }
      const rev = newRev();
      const item = { ...key, _t: 'Job', rev, updated: t, ...doc, ...ttlFor(config.MESSAGE_RETENTION_DAYS, t) };
      const written = await conditional(new PutCommand({ TableName: TABLE, Item: item, ...expectation(job.rev === undefined ? 'absent' : { rev: job.rev }) }));
      if (!written) {
        // Another writer changed the item since it was read: read it again and apply what still matches.
        const fresh = await loadJob(requestId, at);
        job.slots = fresh.slots;
        job.rev = fresh.rev;
        if (attempt >= JOB_WRITE_ATTEMPTS) throw changed(`Job record ${key.pk} / ${key.sk}`);
        await new Promise((r) => setTimeout(r, jittered(Math.min(attempt, 4))));
        continue;
      }
      job.slots = slots;
      job.rev = rev;
    }
    for (const i of outside) results[i] = await writeMessage(writes[i].record, writes[i].expected, { own: true });
    return results;
  }
}

const docBytes = (doc: { doc: string } | { docz: Uint8Array }): number => ('docz' in doc ? doc.docz.length : Buffer.byteLength(doc.doc));

/** Writes one slot's record, reading the job item first (a cancel, a give-up: not the delivery's group commit). */
export async function writeSlot(record: MessageRecord, at: JobSlot, expected: Expected): Promise<Expected | undefined> {
  const job = await loadJob(record.requestId, at);
  const [result] = await writeSlots(record.requestId, at, job, [{ record, slot: at.slot, expected }]);
  return result;
}

interface Waiting {
  write: SlotWrite;
  resolve: (e: Expected | undefined) => void;
  reject: (e: unknown) => void;
}

/**
 * One delivery job's record as a worker's run of the job uses it: read at most once, and written
 * once per round for all of its recipients (group commit). A recipient's write waits until every
 * recipient still running is waiting to write too (or has finished), then they are written in one
 * conditional write of the item. A recipient must `enter` before it reads or writes and `leave`
 * when it is done, or the others wait for it.
 */
export class JobBatch {
  /** The item as last read or written here; undefined until then (a first run writes it as absent). */
  private job?: LoadedJob;
  private loading?: Promise<LoadedJob>;
  private waiting: Waiting[] = [];
  private active = 0;
  private flushing = false;

  constructor(
    private readonly requestId: string,
    private readonly at: Pick<JobSlot, 'outbox' | 'job'>,
  ) {}

  enter(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    this.flushIfReady();
  }

  /** A slot's record as stored (read once for the whole job; what this batch wrote since, after that). */
  async read(slot: number, suffix: string): Promise<StoredRecord | undefined> {
    if (!this.job) {
      this.loading ??= loadJob(this.requestId, this.at);
      this.job = await this.loading;
    }
    return storedSlot(this.job, this.requestId, suffix, slot);
  }

  /** Writes a slot's record with the job's other writes of this round; undefined when the slot was not as expected. */
  write(record: MessageRecord, slot: number, expected: Expected): Promise<Expected | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ write: { record, slot, expected }, resolve, reject });
      this.flushIfReady();
    });
  }

  private flushIfReady(): void {
    if (this.flushing || !this.waiting.length || this.waiting.length < this.active) return;
    const batch = this.waiting.splice(0);
    this.flushing = true;
    const job = this.job ?? { slots: {} };
    writeSlots(
      this.requestId,
      this.at,
      job,
      batch.map((w) => w.write),
    )
      .then(
        (results) => {
          this.job = job;
          batch.forEach((w, i) => w.resolve(results[i]));
        },
        (e: unknown) => batch.forEach((w) => w.reject(e)),
      )
      .finally(() => {
        this.flushing = false;
        this.flushIfReady();
      });
  }
}
