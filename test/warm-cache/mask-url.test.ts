import { describe, expect, it } from 'vitest';
import { maskUrl } from '../../src/db/url.js';

describe('maskUrl on a long single-line text of URLs (a warm-cache JSON result)', () => {
  it('masks every URL password and leaves URLs without one alone', () => {
    const plain = Array.from({ length: 2000 }, (_, i) => `"http://127.0.0.1:8080/api/v1/widgets/${i}?p=web"`).join(',');
    const text = `{"db":"mysql://app:s3cr%2Ft@db:3306/app","urls":[${plain}],"other":"https://u:pw@h:1/x"}`;
    const out = maskUrl(text);
    expect(out).toContain('"mysql://app:***@db:3306/app"');
    expect(out).toContain('"https://u:***@h:1/x"');
    expect(out).not.toContain('s3cr');
    expect(out).toContain(plain);
  });
});
