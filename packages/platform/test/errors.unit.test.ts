import { pickLang } from '../src/errors';

describe('pickLang', () => {
  it.each([
    [undefined, 'id'],
    ['', 'id'],
    ['en', 'en'],
    ['en-US,en;q=0.9', 'en'],
    ['id-ID,id;q=0.9,en;q=0.8', 'id'],
    ['fr-FR,en;q=0.5', 'en'],
    ['en;q=0.4,id;q=0.9', 'id'],
    ['de', 'id'],
  ])('Accept-Language %p → %p', (header, lang) => {
    expect(pickLang(header)).toBe(lang);
  });
});
