/**
 * The S3 subset the factory uses (path-style CreateBucket, PutObject, GetObject, HeadObject,
 * DeleteObject) for the embedded backend, in memory and, with a directory, on disk (one file
 * per object and its metadata), so that outputs survive a restart. moto serves the real thing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import { replaceFile } from './journal.ts';

interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly lastModified: Date;
}

const xmlError = (status: number, code: string, message: string, resource: string): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Resource>${resource}</Resource></Error>`,
});

export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();

  /** @param directory where objects are kept across restarts; in memory only without one */
  constructor(private readonly directory?: string) {
    if (!directory || !existsSync(directory)) return;
    for (const bucket of readdirSync(directory)) {
      const objects = new Map<string, StoredObject>();
      for (const file of readdirSync(path.join(directory, bucket)).filter((f) => f.endsWith('.meta.json'))) {
        const name = file.slice(0, -'.meta.json'.length);
        const meta = JSON.parse(readFileSync(path.join(directory, bucket, file), 'utf8')) as {
          contentType: string;
          etag: string;
          lastModified: string;
        };
        const body = readFileSync(path.join(directory, bucket, `${name}.body`));
        objects.set(decodeURIComponent(name), { ...meta, body, lastModified: new Date(meta.lastModified) });
      }
      this.buckets.set(bucket, objects);
    }
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
    if (this.directory) mkdirSync(path.join(this.directory, name), { recursive: true });
  }

  private persist(bucket: string, key: string, object: StoredObject | undefined): void {
    if (!this.directory) return;
    const base = path.join(this.directory, bucket, encodeURIComponent(key));
    if (!object) {
      rmSync(`${base}.body`, { force: true });
      rmSync(`${base}.meta.json`, { force: true });
      return;
    }
    // The metadata file is what the next start reads: written last, and each file whole or not at all.
    replaceFile(`${base}.body`, object.body);
    replaceFile(
      `${base}.meta.json`,
      JSON.stringify({
        contentType: object.contentType,
        etag: object.etag,
        lastModified: object.lastModified,
      }),
    );
  }

  handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const url = new URL(request.url, 'http://local');
    const [bucketName, ...keyParts] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const key = keyParts.join('/');
    if (!bucketName)
      return xmlError(400, 'InvalidRequest', 'Only path-style bucket requests are served', url.pathname);
    const bucket = this.buckets.get(bucketName);
    if (!key) {
      if (request.method === 'PUT') {
        this.createBucket(bucketName);
        return { status: 200, headers: { location: `/${bucketName}` }, body: '' };
      }
      if (request.method === 'HEAD') return { status: bucket ? 200 : 404, headers: {}, body: '' };
      return xmlError(
        501,
        'NotImplemented',
        'Bucket operations other than create are not served locally',
        bucketName,
      );
    }
    if (!bucket) return xmlError(404, 'NoSuchBucket', 'The specified bucket does not exist', bucketName);
    const resource = `/${bucketName}/${key}`;
    switch (request.method) {
      case 'PUT': {
        const etag = `"${(await import('node:crypto')).createHash('md5').update(request.body).digest('hex')}"`;
        const object = {
          body: decodeChunked(request),
          contentType: String(request.headers['content-type'] ?? 'binary/octet-stream'),
          etag,
          lastModified: new Date(),
        };
        bucket.set(key, object);
        this.persist(bucketName, key, object);
        return { status: 200, headers: { etag }, body: '' };
      }
      case 'GET':
      case 'HEAD': {
        const object = bucket.get(key);
        if (!object) {
          return request.method === 'HEAD'
            ? { status: 404, headers: {}, body: '' }
            : xmlError(404, 'NoSuchKey', 'The specified key does not exist.', resource);
        }
        return {
          status: 200,
          headers: {
            'content-type': object.contentType,
            etag: object.etag,
            'last-modified': object.lastModified.toUTCString(),
            'content-length': String(object.body.length),
          },
          body: request.method === 'HEAD' ? '' : object.body,
        };
      }
      case 'DELETE':
        bucket.delete(key);
        this.persist(bucketName, key, undefined);
        return { status: 204, headers: {}, body: '' };
      default:
        return xmlError(405, 'MethodNotAllowed', `${request.method} is not served locally`, resource);
    }
  };
}

/** The SDK streams bodies with aws-chunked encoding (checksums): strip the chunk framing. */
function decodeChunked(request: BufferedRequest): Buffer {
  const encoding = String(request.headers['content-encoding'] ?? '');
  const sha = String(request.headers['x-amz-content-sha256'] ?? '');
  if (!encoding.includes('aws-chunked') && !sha.startsWith('STREAMING-')) return request.body;
  const parts: Buffer[] = [];
  let offset = 0;
  const body = request.body;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString().split(';')[0] ?? '0', 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
