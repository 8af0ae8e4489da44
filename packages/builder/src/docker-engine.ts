import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LabbotError } from '@labbot/core';
import Dockerode from 'dockerode';
import { BuilderErrorCode, dockerStatusOf, wrapDockerError } from './errors.js';

/** Where the Docker engine is and how to reach it, as the docker CLI reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
export interface DockerEngineSettings {
  /** `unix:///path`, `npipe:////./pipe/name` or `tcp://host[:port]`; the local socket when absent. */
  host?: string | undefined;
  /** Speak TLS and check the engine's certificate against `ca.pem`, presenting `cert.pem`/`key.pem` (DOCKER_TLS_VERIFY). */
  tlsVerify?: boolean | undefined;
  /** The folder of `ca.pem`, `cert.pem` and `key.pem` (DOCKER_CERT_PATH; `~/.docker` when TLS is on and it is absent). */
  certPath?: string | undefined;
}

const LOCAL_SOCKET = '/var/run/docker.sock';

/**
 * dockerode options for the given settings, with every connection field set: docker-modem fills the
 * fields left out from the process's own DOCKER_* variables, which must not win over the settings given.
 */
export function dockerClientOptions(
  settings: DockerEngineSettings,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): Dockerode.DockerOptions {
  const none = {
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  const host = settings.host;
  if (!host) return { ...none, socketPath: LOCAL_SOCKET };
  const socket = /^(unix|npipe):\/\/(.*)$/.exec(host);
  if (socket)
    return { ...none, socketPath: socket[2] || (socket[1] === 'unix' ? LOCAL_SOCKET : '//./pipe/docker_engine') };
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch (error) {
    throw invalidHost(host, error);
  }
  if (url.protocol !== 'tcp:' || !url.hostname) throw invalidHost(host);
  const tls = settings.tlsVerify === true;
  const options: Dockerode.DockerOptions = {
    ...none,
    socketPath: undefined,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    // The engine's conventional ports: 2376 with TLS, 2375 without.
    port: Number(url.port || (tls ? 2376 : 2375)),
    protocol: tls ? 'https' : 'http',
  };
  if (!tls) return options;
  const folder = settings.certPath ?? join(homedir(), '.docker');
  const read = (file: string) => {
    const path = join(folder, file);
    try {
      return readFile(path);
    } catch (error) {
      throw new LabbotError('DOCKER_TLS_FILES_UNREADABLE', `DOCKER_TLS_VERIFY is on but ${path} cannot be read`, {
        cause: error,
        context: { path },
      });
    }
  };
  return { ...options, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

function invalidHost(host: string, cause?: unknown): LabbotError {
  return new LabbotError('DOCKER_HOST_INVALID', `DOCKER_HOST ${host} is not unix://, npipe:// or tcp://host:port`, {
    cause,
    context: { host },
  });
}

/** A Docker client for the given settings (never the process's own DOCKER_* variables). */
export function createDockerClient(settings: DockerEngineSettings): Dockerode {
  return new Dockerode(dockerClientOptions(settings));
}

/** Whether an image tag exists in the engine (a 404 is no; any other failure throws DOCKER_ERROR or DOCKER_UNAVAILABLE). */
export async function imageExists(docker: Dockerode, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (dockerStatusOf(error) === 404) return false;
    throw wrapDockerError(
      error,
      BuilderErrorCode.dockerError,
      `Inspecting image ${tag} failed`,
      'The Docker engine failed.',
      {
        tag,
      },
    );
  }
}
