import type { S3Client } from '@aws-sdk/client-s3';
import type { StoredArtifact } from '#job-types/job-type';
import { captured, clientDefaults, loadedOnFirstUse } from './aws-clients.ts';

/** The S3 SDK, loaded at the first artifact read or write: most jobs of a worker make none. */
const sdk = loadedOnFirstUse<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');
let s3Client: S3Client | undefined;
// Path-style addressing works on AWS and on local endpoints alike (no bucket DNS needed).
const s3 = () => {
  s3Client ??= captured(new (sdk().S3Client)({ ...clientDefaults, forcePathStyle: true }));
  return s3Client;
};

/** Job outputs (images, reports) in the artifacts bucket. */
export class ArtifactStore {
  constructor(private readonly bucket: string) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<StoredArtifact> {
    await s3().send(
      new (sdk().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
    return { key, contentType, bytes: body.byteLength };
  }

  async get(key: string): Promise<{ body: Uint8Array; contentType: string } | undefined> {
    try {
      const object = await s3().send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      return {
        body: await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        contentType: object.ContentType ?? 'application/octet-stream',
      };
    } catch (error) {
      if (
        error instanceof sdk().NoSuchKey ||
        (error as Error).name === 'NoSuchKey' ||
        (error as Error).name === 'NotFound'
      )
        return undefined;
      throw error;
    }
  }
}
