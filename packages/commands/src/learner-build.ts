import type { ChatFile, ChatMessage, FilesRequest, IncomingCommand } from '@labbot/chat';
import {
  type CreateDeploymentCommand,
  generateDeploymentYaml,
  LabbotError,
  type LabCommand,
  type LabRecord,
} from '@labbot/core';
import type { LearnerBuildClient, LearnerBuildJobResult } from '@labbot/queue';

/** A refusal a user may read. */
function refusal(message: string): LabbotError {
  return new LabbotError('REFUSED', message, { userMessage: message });
}

// Refusals stay one short line (at most 200 characters, names cut short), so this is said briefly.
const HOW_TO_SEND =
  'Attach your Dockerfile (and the files it COPYs) to /lab build, or name their folder: /lab build ./my-image';

/** The form a chat with forms opens for a /lab build without files (Slack: a modal). */
export const BUILD_FILES_REQUEST: FilesRequest = {
  title: 'Build your image',
  mainFile: {
    path: 'Dockerfile',
    label: 'Your Dockerfile',
    placeholder: 'FROM labbot/busybox:1\nCOPY hello.sh /app/hello.sh\nCMD ["/bin/sh", "/app/hello.sh"]',
  },
  extraFiles: 3,
  submitLabel: 'Build',
  commandText: 'build',
};

/** Whether a /lab build came without any files, where a form can ask for them. */
export function wantsBuildForm(
  command: Extract<LabCommand, { kind: 'build' }>,
  incoming: Pick<IncomingCommand, 'attachments' | 'respond'>,
): boolean {
  return command.path === undefined && !incoming.attachments?.length && incoming.respond.requestFiles !== undefined;
}

/** The Dockerfile and files of a /lab build, from what the adapter offers (attachments or a folder). */
export async function filesOfBuild(
  command: Extract<LabCommand, { kind: 'build' }>,
  incoming: Pick<IncomingCommand, 'attachments' | 'readFolder'>,
): Promise<{ dockerfile: string; files: ChatFile[] }> {
  let files: ChatFile[];
  if (command.path !== undefined) {
    if (!incoming.readFolder) throw refusal(`This chat cannot read folders. ${HOW_TO_SEND}`);
    try {
      files = await incoming.readFolder(command.path);
    } catch (error) {
      throw new LabbotError('REFUSED', `Cannot read the folder ${command.path}`, {
        cause: error,
        userMessage: `The folder "${command.path.slice(0, 60)}" cannot be read: check the path (relative to where labbot chat runs).`,
      });
    }
  } else {
    files = incoming.attachments ?? [];
  }
  if (files.length === 0) throw refusal(`No files came with the command. ${HOW_TO_SEND}`);
  const dockerfile = files.find((file) => file.path === 'Dockerfile' || file.path.toLowerCase() === 'dockerfile');
  if (!dockerfile) {
    const names = files
      .slice(0, 3)
      .map((file) => file.path.slice(0, 30))
      .join(', ');
    throw refusal(
      `None of the ${files.length} files you sent is named Dockerfile (${names}${files.length > 3 ? ', ...' : ''}).`,
    );
  }
  return {
    dockerfile: Buffer.from(dockerfile.content).toString('utf8'),
    files: files.filter((file) => file !== dockerfile),
  };
}

/** Sends a build to the runner and waits for its result. */
export async function submitBuild(
  builds: LearnerBuildClient,
  lab: LabRecord,
  actor: string,
  sent: { dockerfile: string; files: ChatFile[] },
): Promise<LearnerBuildJobResult> {
  return builds.submit({
    labId: lab.labId,
    actor,
    dockerfile: sent.dockerfile,
    files: sent.files.map((file) => ({
      path: file.path,
      contentBase64: Buffer.from(file.content).toString('base64'),
      ...(file.mode === undefined ? {} : { mode: file.mode }),
    })),
  });
}

/** The answer in the thread: the build's last lines and what the container printed, or why it was refused. */
export function buildResultMessage(result: LearnerBuildJobResult): ChatMessage {
  if (!result.ok) {
    return {
      title: '$ docker build · refused',
      tone: 'warning',
      blocks: [
        { kind: 'text', text: result.message ?? 'Your image could not be built.' },
        ...(result.logTail.length
          ? [{ kind: 'code' as const, title: 'Build log (last lines)', text: result.logTail.join('\n') }]
          : []),
      ],
    };
  }
  return {
    title: `$ docker build · ${result.cached ? 'already built, reused' : 'built'} ${result.tag ?? ''}`.trim(),
    tone: result.message ? 'warning' : 'success',
    blocks: [
      ...(result.logTail.length
        ? [{ kind: 'code' as const, title: 'Build log (last lines)', text: result.logTail.join('\n') }]
        : []),
      {
        kind: 'code',
        title: `$ docker run ${result.tag ?? ''} (exit code ${result.exitCode ?? 'none'})`,
        text: result.output?.trimEnd() || '(no output)',
      },
      ...(result.message ? [{ kind: 'text' as const, text: `💡 ${result.message}` }] : []),
      {
        kind: 'context',
        text: "This image is now your lab's image. Next: /lab kubectl create deployment hello --image=IMAGE --replicas=3 --dry-run=client -o yaml",
      },
    ],
  };
}

/** The manifest kubectl would print, with the lab's own image, and what each part means. */
export function manifestMessage(command: CreateDeploymentCommand, image: string): ChatMessage {
  const yaml = generateDeploymentYaml(command, image);
  const typed = command.image && command.image !== image && !/^IMAGE$/i.test(command.image);
  return {
    title: `$ kubectl create deployment ${command.name} --image=${command.image ?? image} --replicas=${command.replicas} --dry-run=client -o yaml`,
    tone: 'info',
    blocks: [
      { kind: 'code', text: yaml.trimEnd() },
      {
        kind: 'text',
        text: [
          ...(typed
            ? [
                `ℹ️ The image is your lab's own image \`${image}\` (not "${command.image}"): /lab apply accepts only images built for this lab.`,
              ]
            : []),
          '• `apiVersion: apps/v1`, `kind: Deployment`: which kind of object this is and which API group serves it.',
          `• \`metadata.name: ${command.name}\`: the Deployment's name; \`labels\` tag it so it can be found.`,
          `• \`spec.replicas: ${command.replicas}\`: how many copies of the pod Kubernetes keeps running.`,
          `• \`spec.selector.matchLabels\`: which pods belong to this Deployment; it must match the template's labels (\`app: ${command.name}\`).`,
          '• `spec.template`: the pod to make: its labels and its containers, here one container from your image.',
          '• `creationTimestamp: null`, `strategy: {}`, `resources: {}`, `status: {}`: empty fields kubectl prints on a dry run; you can delete them.',
          'Nothing was sent to the cluster (--dry-run=client). Copy it, edit it if you like, and send it with /lab apply.',
        ].join('\n'),
      },
    ],
  };
}
