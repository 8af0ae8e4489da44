import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { ApiError } from './api-error.js';
import type { KubeObject } from './types.js';

/** Channels of the Kubernetes remote-command WebSocket protocol (v4/v5.channel.k8s.io). */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface ExecRequest {
  container?: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

/** The streams of one exec session, as the kubelet sees them. */
export interface ExecSession {
  /** Sends process output on stdout (1) or stderr (2). */
  write(channel: 1 | 2, data: Buffer): void;
  /** Input from the client; `null` when the client closed stdin. */
  onInput(listener: (data: Buffer | null) => void): void;
  onResize(listener: (size: { width: number; height: number }) => void): void;
  /** Ends the session with the process's exit code (0 = Success). */
  finish(exitCode: number, command: string[]): void;
  fail(error: ApiError): void;
  readonly closed: AbortSignal;
}

export interface ExecRunner {
  exec(pod: KubeObject, request: ExecRequest, session: ExecSession): Promise<void>;
}

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

function statusSuccess() {
  return { metadata: {}, status: 'Success' };
}

function statusExit(exitCode: number, command: string[]) {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** Upgrades `pods/<name>/exec` requests to the remote-command WebSocket protocol kubectl speaks. */
export class ExecGateway {
  private readonly server = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => protocols.find((p) => offered.has(p)) ?? false,
  });

  constructor(private readonly runner: ExecRunner) {}

  close(): void {
    for (const client of this.server.clients) client.terminate();
    this.server.close();
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, pod: KubeObject, request: ExecRequest): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.run(ws, pod, request));
  }

  private run(ws: WebSocket, pod: KubeObject, request: ExecRequest): void {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    const controller = new AbortController();
    const inputListeners: ((data: Buffer | null) => void)[] = [];
    const resizeListeners: ((size: { width: number; height: number }) => void)[] = [];
    let finished = false;
    const send = (channel: number, data: Buffer | string) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    };
    const end = (status: unknown) => {
      if (finished) return;
      finished = true;
      send(Channel.error, JSON.stringify(status));
      ws.close(1000);
    };
    // Input that arrives before the kubelet has started the process waits here.
    const pendingInput: (Buffer | null)[] = [];
    const deliver = (data: Buffer | null) => {
      if (inputListeners.length === 0) pendingInput.push(data);
      else for (const listener of inputListeners) listener(data);
    };
    ws.on('message', (raw: Buffer) => {
      const channel = raw[0];
      const data = raw.subarray(1);
      if (channel === Channel.stdin) deliver(Buffer.from(data));
      else if (channel === Channel.resize) {
        try {
          const size = JSON.parse(data.toString('utf8')) as { Width: number; Height: number };
          for (const listener of resizeListeners) listener({ width: size.Width, height: size.Height });
        } catch {
          // A malformed resize is ignored, as the kubelet does.
        }
      } else if (channel === Channel.close && v5 && data[0] === Channel.stdin) {
        deliver(null);
      }
    });
    ws.on('close', () => controller.abort());
    const session: ExecSession = {
      write: (channel, data) => send(channel, data),
      onInput: (listener) => {
        inputListeners.push(listener);
        for (const data of pendingInput.splice(0)) listener(data);
      },
      onResize: (listener) => resizeListeners.push(listener),
      finish: (exitCode, command) => end(exitCode === 0 ? statusSuccess() : statusExit(exitCode, command)),
      fail: (error) => end(error.toStatus()),
      closed: controller.signal,
    };
    this.runner.exec(pod, request, session).catch((error: unknown) => {
      session.fail(
        error instanceof ApiError
          ? error
          : new ApiError(500, 'InternalError', error instanceof Error ? error.message : String(error)),
      );
    });
  }
}
