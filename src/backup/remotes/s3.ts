import fs from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parseBackupName } from '../../jobs/backup-db/backup-files.js';
import { digestStream, type Digest } from '../sha256.js';
import { isWebjobsFileName, type BackupRemote, type RemoteFile } from './types.js';

/** config `backup.s3`: unset fields fall back to the SDK's usual sources (AWS_* variables, ~/.aws). */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
}

/**
 * Parts are streamed from the file: at most PART_BYTES × QUEUE parts in memory at once,
 * whatever the file's size (the SDK's minimum part is 5 MiB).
 */
const PART_BYTES = 8 * 1024 * 1024;
const QUEUE = 2;

export class S3Remote implements BackupRemote {
  private readonly client: S3Client;

  constructor(
    readonly label: string,
    private readonly bucket: string,
    private readonly prefix: string,
    settings: S3Settings,
  ) {
    const config: S3ClientConfig = {
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: settings.forcePathStyle ?? Boolean(settings.endpoint),
      // Checksums only where S3 requires them: several S3-compatible servers reject the
      // newer trailing-checksum uploads. The SHA-256 read-back below is the end-to-end check.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    };
    if (settings.endpoint) config.endpoint = settings.endpoint;
    if (settings.accessKeyId && settings.secretAccessKey)
      config.credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
    this.client = new S3Client(config);
  }

  /**
   * S3 has no rename; a multipart upload is atomic instead: the object appears under its key
   * only when the upload completes, and a failed one is aborted (its parts deleted).
   */
  async upload(localFile: string, name: string): Promise<void> {
    const body = fs.createReadStream(localFile, { highWaterMark: 1024 * 1024 });
    try {
      await new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.prefix + name, Body: body },
        partSize: PART_BYTES,
        queueSize: QUEUE,
        leavePartsOnError: false,
      }).done();
    } finally {
      body.destroy();
    }
  }

  async open(name: string): Promise<Readable | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
      return res.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async digest(name: string): Promise<Digest | null> {
    const body = await this.open(name);
    return body && digestStream(body);
  }

  async list(): Promise<RemoteFile[]> {
    const out: RemoteFile[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? '').slice(this.prefix.length);
        if (parseBackupName(name)) out.push({ name, bytes: o.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async remove(name: string): Promise<void> {
    if (!isWebjobsFileName(name))
      throw new Error(`refusing to delete ${name} from ${this.label}: not a webjobs backup`);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
