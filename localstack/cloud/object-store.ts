/**
 * The S3 subset the factory uses (path-style CreateBucket, PutObject, GetObject, HeadObject,
 * DeleteObject), in memory, for the embedded backend. moto serves the real thing.
 */
import type { BufferedRequest, ServiceResponse } from './edge.ts';

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

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
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
        bucket.set(key, {
          body: decodeChunked(request),
          contentType: String(request.headers['content-type'] ?? 'binary/octet-stream'),
          etag,
          lastModified: new Date(),
        });
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
