// Opening the state store (StateStore.open, StateStore.openReadOnly): the state directory and its
// files trusted first, the schema before any row, the anchors and the key schedule before anything
// is written; what they find wrong is refused with the error that says what to do.
import type Database from "better-sqlite3";
import { join, resolve } from "node:path";
import { anchoredSchema, dbHeadOf, endTampering, readFileHead } from "./anchors.js";
import { ApprovedStates, approvedStatesPresent } from "./approved-states.js";
import { LearntBands } from "./bands.js";
import { openForReading, openForWriting } from "./database.js";
import { damageMessage, HistoryBrokenError, isDamage, NoStoreError, operationalError, StoreDamagedError } from "./errors.js";
import { hostKeyPath, keyKeptElsewhere, readHostKey } from "./host-key.js";
import { HostKeys, readPendingKey } from "./host-keys.js";
import { finishOnOpening } from "./host-rotation.js";
import type { Head } from "./ledger.js";
import { migrate } from "./migrate.js";
import { Notifications } from "./notify.js";
import { databaseExists, guarded, headGone, makeStore, missingStore, schemaTampered, schemaVersion, unfinishedStore, witnessesOf, type Witnesses } from "./opening.js";
import { schemaIsEmpty, schemaProblem } from "./schema.js";
import { StoreCore } from "./store-core.js";
import { checkStateDirectory, checkStateFiles } from "./trust.js";
import { Watcher } from "./watcher.js";

/** Opens (or creates) the store for a run. */
export function openForRun(dir: string): StoreCore {
  const abs = resolve(dir);
  checkStateDirectory(abs);
  checkStateFiles(abs, keyKeptElsewhere());
  const keyPath = hostKeyPath(abs);
  const witnesses = witnessesOf(abs, readFileHead(abs));
  const dbPath = join(abs, "state.db");
  if (!databaseExists(dbPath)) {
    const wiped = missingStore(abs, witnesses, "gone");
    if (wiped) throw wiped;
  }
  const db = guarded(abs, `cannot open the store ${dbPath}`, () => openForWriting(dbPath));
  try {
    const onDisk = guarded(abs, `cannot create the store ${dbPath}`, () => keyFor(db, abs, keyPath, witnesses));
    let keys = guarded(abs, `cannot read the store ${dbPath}`, () => HostKeys.load(db, abs, onDisk, keyKeptElsewhere() ? undefined : readPendingKey(keyPath)));
    // read again: a new store has just written it
    const fileHead = readFileHead(abs);
    const broken = endTampering(db, keys, fileHead);
    if (broken) throw new HistoryBrokenError(`the history in ${abs} cannot be continued: ${broken.message}. \`covenant verify\` reports it; a run will not add to a history whose end it cannot vouch for. To start a new history, move the state directory aside and keep it as evidence`, broken.kind === "deleted" ? "deleted" : "altered");
    const unfinished = keys.unfinished ? keys.rotations.at(-1) : undefined;
    // once the anchors have vouched for the end: what is finished is a history found whole
    if (unfinished) keys = guarded(abs, `cannot finish the rotation of the host key in ${abs}`, () => finishOnOpening(db, abs, keyPath, keys));
    const key = keys.current;
    const store = new StoreCore(abs, db, keys, () => db.close(), "write");
    if (unfinished) store.finishedHostRotation = { record: unfinished.seq, old: unfinished.old, new: unfinished.new };
    guarded(abs, `cannot update the store ${dbPath}`, () => migrate(db, abs, key, schemaVersion(db, abs, keys, fileHead), anchoredSchema(db, keys, fileHead)));
    store.prepareWrites();
    store.notify = store.notifications();
    store.watcher = store.heartbeat();
    store.approvedStates = new ApprovedStates(db, key);
    const anchored = dbHeadOf(db);
    store.learnt = guarded(abs, `cannot read the store ${dbPath}`, () => new LearntBands(db, key, anchored.present ? (anchored.value as Head).bands : undefined));
    return store;
  } catch (err) {
    db.close();
    if (isDamage(err)) throw new StoreDamagedError(damageMessage(abs, err));
    throw operationalError(err, `cannot open the store ${dbPath}`) ?? err;
  }
}

/**
 * The key of the store in `db`: one that is made here if the database is new (or a new store's
 * making stopped part way). A database emptied while its key or head anchor remains, or one
 * whose schema is not a Covenant store's, is refused before anything is written to it.
 */
function keyFor(db: Database.Database, dir: string, keyPath: string, witnesses: Witnesses): Buffer {
  if (schemaIsEmpty(db)) {
    const emptied = missingStore(dir, witnesses, "empty");
    if (emptied) throw emptied;
    return makeStore(db, dir, keyPath);
  }
  const problem = schemaProblem(db);
  if (problem) throw schemaTampered(dir, problem);
  if (unfinishedStore(db, witnesses)) return makeStore(db, dir, keyPath);
  const gone = headGone(db, dir, witnesses);
  if (gone) throw gone;
  return readHostKey(keyPath);
}

/** Opens the store to read it, changing nothing: no schema change, no key, no journal mode. */
export function openToRead(dir: string): StoreCore {
  const abs = resolve(dir);
  checkStateDirectory(abs);
  checkStateFiles(abs, keyKeptElsewhere());
  const keyPath = hostKeyPath(abs);
  const fileHead = readFileHead(abs);
  const witnesses = witnessesOf(abs, fileHead);
  const dbPath = join(abs, "state.db");
  if (!databaseExists(dbPath)) throw missingStore(abs, witnesses, "gone") ?? new NoStoreError(`no store in ${abs} (nothing has run there yet; choose another with --state)`);
  const ro = guarded(abs, `cannot open the store ${dbPath}`, () => openForReading(abs));
  try {
    // the schema before any row: SQL an attacker kept in it (a view, a trigger) is never run
    const key = guarded(abs, `cannot read the store ${dbPath}`, () => {
      if (schemaIsEmpty(ro.db)) throw missingStore(abs, witnesses, "empty") ?? new NoStoreError(`no store in ${abs} (state.db holds no tables: nothing has run there yet)`);
      const problem = schemaProblem(ro.db);
      if (problem) throw schemaTampered(abs, problem);
      const gone = headGone(ro.db, abs, witnesses);
      if (gone) throw gone;
      // a rotation of the host key committed but not finished is read as it stands (host-keys.ts): a reader changes no file
      const k = HostKeys.load(ro.db, abs, readHostKey(keyPath), keyKeptElsewhere() ? undefined : readPendingKey(keyPath));
      schemaVersion(ro.db, abs, k, fileHead);
      return k;
    });
    const store = new StoreCore(abs, ro.db, key, ro.close, ro.mode);
    if (Notifications.present(ro.db)) store.notify = store.notifications();
    if (Watcher.present(ro.db)) store.watcher = store.heartbeat();
    if (approvedStatesPresent(ro.db)) store.approvedStates = new ApprovedStates(ro.db, key.current);
    return store;
  } catch (err) {
    ro.close();
    throw err;
  }
}
