import { allowedOrigin, parseCorsOrigins } from '../../../lambdas/shared/cors';

describe('CORS_ALLOWED_ORIGINS', () => {
  it.each([
    ['*', ['*']],
    [' * ', ['*']],
    ['off', []],
    ['', []],
    ['https://app.example.com', ['https://app.example.com']],
    ['https://app.example.com/', ['https://app.example.com']],
    ['https://a.example.com, http://localhost:5173', ['https://a.example.com', 'http://localhost:5173']],
  ])('%j is %j', (text, origins) => expect(parseCorsOrigins(text)).toEqual(origins));

  it.each([
    'app.example.com',
    'https://app.example.com/path',
    'ftp://files.example.com',
    'https://a.example.com,*',
    'https://a.example.com,,https://b.example.com',
  ])('%j is refused, naming the entry', (text) => expect(parseCorsOrigins(text)).toEqual(expect.stringContaining('is not an origin')));

  it.each([
    [['*'], 'https://x.test', '*'],
    [['*'], undefined, undefined],
    [[], 'https://x.test', undefined],
    [['https://x.test'], 'https://x.test', 'https://x.test'],
    [['https://x.test'], 'https://y.test', undefined],
    [['https://x.test'], 'https://x.test:8443', undefined],
  ])('origins %j, request from %j: %j', (origins, origin, expected) => expect(allowedOrigin(origins, origin)).toBe(expected));
});
