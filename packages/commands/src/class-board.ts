import type { ChatButton, ChatMessage, MessageBlock } from '@labbot/chat';
import { CLASS_STAGES, type ClassStage, classStageOf, type LabRecord } from '@labbot/core';
import type { CheckRecord, ClassRecord, FinalResult, HelpRequest, RosterEntry } from '@labbot/store';

/** Everything a class view is drawn from: the class, its learners in join order, their labs, checks and final results. */
export interface ClassSnapshot {
  klass: ClassRecord;
  lessonTitle: string;
  /** How many checks the lesson has. */
  checkCount: number;
  members: RosterEntry[];
  labs: Map<string, LabRecord>;
  checks: Map<string, CheckRecord>;
  finals: Map<string, FinalResult>;
  /** Raised hands, earliest first (empty when help requests are not set up). */
  hands?: HelpRequest[];
}

/** One learner as every class view shows them. */
export interface LearnerRow {
  entry: RosterEntry;
  stage: ClassStage;
  /** A diagnosis word (CrashLoopBackOff, PendingQuota, BuildError...) when the lab is failing. */
  diagnosis: string | undefined;
  checksPassed: number;
  allChecksPassed: boolean;
  threadId: string | undefined;
  /** When the lab first reached ready, if it did (from the lab's audit trail, filled by the caller). */
  readyAt?: string | undefined;
}

const STAGE_LABEL: Record<ClassStage, string> = {
  joined: 'joined',
  building: 'building',
  deploying: 'deploying',
  ready: 'ready',
  failing: 'failing',
  stopped: 'stopped',
};

const STAGE_MARK: Record<ClassStage, string> = {
  joined: '⏳',
  building: '🔨',
  deploying: '🚀',
  ready: '✅',
  failing: '❌',
  stopped: '⏹️',
};

/** Most urgent first: who is stuck is what an instructor looks for. */
const URGENCY: ClassStage[] = ['failing', 'joined', 'building', 'deploying', 'ready', 'stopped'];

function diagnosisWord(lab: LabRecord): string | undefined {
  return lab.observed.diagnosis?.reason ?? lab.observed.error?.code;
}

/** The learners of a class with their stage (the final one once the class ended). */
export function learnerRows(snapshot: ClassSnapshot): LearnerRow[] {
  return snapshot.members.map((entry) => {
    const lab = snapshot.labs.get(entry.labId);
    const final = snapshot.klass.state === 'ended' ? snapshot.finals.get(entry.labId) : undefined;
    const checks = snapshot.checks.get(entry.labId);
    const checksPassed = checks?.results.filter((result) => result.passed).length ?? 0;
    const stage: ClassStage = final
      ? (CLASS_STAGES as readonly string[]).includes(final.stage)
        ? (final.stage as ClassStage)
        : 'stopped'
      : lab
        ? classStageOf(lab.observed.phase)
        : 'joined';
    return {
      entry,
      stage,
      diagnosis: final ? final.diagnosis : lab && stage === 'failing' ? diagnosisWord(lab) : undefined,
      checksPassed,
      allChecksPassed: snapshot.checkCount > 0 && checksPassed >= snapshot.checkCount,
      threadId: lab?.threadId,
      readyAt: final?.readyAt,
    };
  });
}

export interface BoardCounts {
  joined: number;
  building: number;
  deploying: number;
  ready: number;
  failing: number;
  stopped: number;
  checksPassed: number;
}

export function boardCounts(rows: LearnerRow[]): BoardCounts {
  const counts: BoardCounts = {
    joined: rows.length,
    building: 0,
    deploying: 0,
    ready: 0,
    failing: 0,
    stopped: 0,
    checksPassed: 0,
  };
  for (const row of rows) {
    if (row.stage !== 'joined') counts[row.stage]++;
    if (row.allChecksPassed) counts.checksPassed++;
  }
  return counts;
}

const mention = (userId: string) => `<@${userId}>`;

function learnerLine(row: LearnerRow, checkCount: number): string {
  const parts = [`${STAGE_MARK[row.stage]} ${mention(row.entry.userId)} ${STAGE_LABEL[row.stage]}`];
  if (row.diagnosis) parts.push(row.diagnosis);
  if (checkCount > 0) parts.push(`checks ${row.checksPassed}/${checkCount}`);
  return parts.join(' · ');
}

/**
 * The per-learner list within `budget` characters: most urgent first, then in join order; whoever does
 * not fit is folded into one line of counts ("… and 46 more: 40 ready, 6 deploying").
 */
export function foldedLearnerList(rows: LearnerRow[], checkCount: number, budget: number): string {
  const ordered = [...rows].sort(
    (a, b) => URGENCY.indexOf(a.stage) - URGENCY.indexOf(b.stage) || a.entry.seq - b.entry.seq,
  );
  const lines: string[] = [];
  let used = 0;
  const reserve = 120; // room for the fold line
  let shown = 0;
  for (const row of ordered) {
    const line = learnerLine(row, checkCount);
    if (used + line.length + 1 > budget - reserve && shown < ordered.length) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  const rest = ordered.slice(shown);
  if (rest.length > 0) {
    const byStage = new Map<ClassStage, number>();
    for (const row of rest) byStage.set(row.stage, (byStage.get(row.stage) ?? 0) + 1);
    const summary = URGENCY.filter((stage) => byStage.has(stage))
      .map((stage) => `${byStage.get(stage)} ${STAGE_LABEL[stage]}`)
      .join(', ');
    lines.push(`… and ${rest.length} more: ${summary}`);
  }
  return lines.join('\n');
}

export interface BoardOptions {
  /** The longest text block the platform takes (the adapter's maxMessageLength). */
  maxLength: number;
}

/** The class message: counts per stage, the folded learner list, and the Join button while the class is open. */
export function renderClassBoard(snapshot: ClassSnapshot, options: BoardOptions): ChatMessage {
  const { klass } = snapshot;
  const rows = learnerRows(snapshot);
  const counts = boardCounts(rows);
  const open = klass.state === 'open';
  const max = klass.maxLearners ? `/${klass.maxLearners}` : '';
  const fields = [
    { name: 'Joined', value: `${counts.joined}${max}` },
    { name: 'Building', value: String(counts.building) },
    { name: 'Deploying', value: String(counts.deploying) },
    { name: 'Ready', value: String(counts.ready) },
    { name: 'Failing', value: String(counts.failing) },
    { name: 'Checks passed', value: String(counts.checksPassed) },
  ];
  const blocks: MessageBlock[] = [
    {
      kind: 'text',
      text: open
        ? `Class by ${mention(klass.instructor.userId)}. Press **Join** (or type \`/lab class join\`) to get your own lab in a thread of your own.`
        : `This class has ended: every lab of it was torn down. Final results:`,
    },
    { kind: 'fields', fields },
  ];
  const hands = open ? raisedHands(snapshot) : undefined;
  // Raised hands first: who asks for help is what an instructor looks for before anything else.
  if (hands) blocks.splice(1, 0, { kind: 'text', text: hands });
  // Keep the list within one text block of the platform (Slack: 3000, Discord: 4096 characters).
  const budget = Math.max(400, Math.min(options.maxLength, 3000) - 200);
  if (rows.length > 0) blocks.push({ kind: 'text', text: foldedLearnerList(rows, snapshot.checkCount, budget) });
  blocks.push({
    kind: 'context',
    text: `class ${klass.classId} · ${klass.lessonId}${klass.variant ? ` (${klass.variant})` : ''} · labs live ${klass.ttlMinutes ?? '?'} min${open ? ' · /lab class status · /lab class end' : ''}`,
  });
  const buttons: ChatButton[] = open
    ? [{ action: 'join', target: klass.classId, label: 'Join', style: 'primary' }]
    : [];
  return {
    title: `${open ? '🎓 Class' : '🏁 Class ended'}: ${snapshot.lessonTitle}${klass.variant ? ` (${klass.variant})` : ''}`,
    tone: open ? (counts.failing > 0 ? 'warning' : 'info') : 'success',
    blocks,
    ...(buttons.length ? { buttons } : {}),
  };
}

/** The raised hands as the board's first lines: learner, stage, diagnosis, and who is helping (at most 10 shown). */
function raisedHands(snapshot: ClassSnapshot): string | undefined {
  const hands = snapshot.hands ?? [];
  if (hands.length === 0) return undefined;
  const lines = hands.slice(0, 10).map((hand) => {
    const lab = snapshot.labs.get(hand.labId);
    const where = lab
      ? [STAGE_LABEL[classStageOf(lab.observed.phase)], diagnosisWord(lab)].filter(Boolean).join(' · ')
      : '';
    const who = hand.takenBy ? `${mention(hand.takenBy)} is helping` : 'waiting for an instructor';
    return `${hand.takenBy ? '🧑‍🏫' : '✋'} ${mention(hand.userId)}${where ? ` (${where})` : ''} — ${who}`;
  });
  const more = hands.length > 10 ? `\n… and ${hands.length - 10} more` : '';
  return `**Raised hands: ${hands.length}**\n${lines.join('\n')}${more}`;
}

/** `/lab class status`: every learner with stage, diagnosis and where their thread is, folded to fit. */
export function renderClassStatus(
  snapshot: ClassSnapshot,
  options: BoardOptions & { threadLink: (threadId: string) => string },
): ChatMessage {
  const rows = learnerRows(snapshot).sort(
    (a, b) => URGENCY.indexOf(a.stage) - URGENCY.indexOf(b.stage) || a.entry.seq - b.entry.seq,
  );
  const counts = boardCounts(rows);
  const budget = Math.max(400, Math.min(options.maxLength, 3000) - 200);
  const lines: string[] = [];
  let used = 0;
  let shown = 0;
  for (const row of rows) {
    const line = `${learnerLine(row, snapshot.checkCount)}${row.threadId ? ` · ${options.threadLink(row.threadId)}` : ''}`;
    if (used + line.length + 1 > budget - 80) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  if (shown < rows.length) lines.push(`… and ${rows.length - shown} more (see /lab class export for everyone).`);
  return {
    title: `Class ${snapshot.klass.classId}: ${counts.joined} joined, ${counts.ready} ready, ${counts.failing} failing, ${counts.checksPassed} passed the checks`,
    tone: counts.failing > 0 ? 'warning' : 'info',
    blocks: [{ kind: 'text', text: lines.join('\n') || 'Nobody has joined yet.' }],
  };
}

/** A CSV cell: quoted when it holds a comma, quote or line break; formula-looking cells are defused. */
function csvCell(value: string): string {
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The class results as CSV: learner, joined at, seconds to ready, each check's result and when it first
 * passed, final stage. `checkNames` are the lesson's checks (the columns); `readyAt` comes from each lab's trail.
 */
export function classCsv(
  snapshot: ClassSnapshot,
  checkNames: string[],
  readyAtOf: (labId: string) => string | undefined,
): string {
  const header = ['learner', 'lab', 'joined_at', 'seconds_to_ready'];
  for (const name of checkNames) header.push(`check: ${name}`, `check: ${name} (passed at)`);
  header.push('final_stage', 'diagnosis');
  const lines = [header.map(csvCell).join(',')];
  for (const row of learnerRows(snapshot)) {
    const readyAt = row.readyAt ?? readyAtOf(row.entry.labId);
    const seconds =
      readyAt === undefined
        ? ''
        : String(Math.max(0, Math.round((Date.parse(readyAt) - Date.parse(row.entry.joinedAt)) / 100) / 10));
    const cells = [row.entry.userId, row.entry.labId, row.entry.joinedAt, seconds];
    const checks = snapshot.checks.get(row.entry.labId);
    for (const name of checkNames) {
      const result = checks?.results.find((candidate) => candidate.name === name);
      cells.push(result === undefined ? '' : result.passed ? 'passed' : 'failed', result?.firstPassedAt ?? '');
    }
    cells.push(row.stage, row.diagnosis ?? '');
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}
