/**
 * Deletes every tag of `repository` (e.g. `labbot/my-lesson`) from the registry at `registry` (host:port),
 * so a test leaves the shared registry as it found it. A repository the registry does not know is fine.
 */
export async function deleteRegistryRepository(registry: string, repository: string): Promise<number> {
  const base = `http://${registry}/v2/${repository}`;
  const listed = await fetch(`${base}/tags/list`);
  if (listed.status === 404) return 0;
  if (!listed.ok) throw new Error(`registry ${registry}: GET ${repository} tags answered ${listed.status}`);
  const { tags } = (await listed.json()) as { tags?: string[] | null };
  let deleted = 0;
  for (const tag of tags ?? []) {
    const head = await fetch(`${base}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: [
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
          'application/vnd.oci.image.index.v1+json',
        ].join(', '),
      },
    });
    const digest = head.headers.get('docker-content-digest');
    if (!head.ok || !digest) continue;
    const removed = await fetch(`${base}/manifests/${digest}`, { method: 'DELETE' });
    if (removed.status === 202 || removed.status === 404) deleted++;
    else throw new Error(`registry ${registry}: DELETE ${repository}@${digest} answered ${removed.status}`);
  }
  return deleted;
}
