import { describe, expect, it } from 'vitest';
import { basicTokenize, isCandidatePiece, isEligibleWord } from '../../src/augment/words.ts';
import { isStopWord, STOP_WORDS } from '../../src/augment/stopwords.ts';

describe('basicTokenize', () => {
  it('lower-cases, strips accents and splits punctuation like BERT', () => {
    expect(basicTokenize("Héllo, World! It's  a\tcafé.")).toEqual(['hello', ',', 'world', '!', 'it', "'", 's', 'a', 'cafe', '.']);
  });
  it('keeps case when asked and splits CJK characters apart', () => {
    expect(basicTokenize('Big 中文 cat', false)).toEqual(['Big', '中', '文', 'cat']);
  });
  it('drops control characters and treats any whitespace as a separator', () => {
    expect(basicTokenize('a\u0000b\u200bc \n d')).toEqual(['abc', 'd']);
  });
});

describe('word eligibility', () => {
  it('skips stop-words and non-alphabetic tokens', () => {
    expect(['movie', 'brilliant', 'Café'].map(isEligibleWord)).toEqual([true, true, true]);
    expect(['the', 'and', 'not', 'The'].map(isEligibleWord)).toEqual([false, false, false, false]);
    expect(['.', "'", '42', 'b2b', 'well-made', ''].map(isEligibleWord)).toEqual([false, false, false, false, false, false]);
  });
  it('uses the NLTK English list', () => {
    expect(STOP_WORDS.size).toBe(179);
    expect(isStopWord('ourselves')).toBe(true);
    expect(isStopWord('film')).toBe(false);
  });
  it('accepts only whole-word alphabetic pieces as candidates', () => {
    expect(['good', 'great'].map(isCandidatePiece)).toEqual([true, true]);
    expect(['##ing', '[CLS]', '[unused3]', ',', '1990', 'd'].map(isCandidatePiece)).toEqual([false, false, false, false, false, false]);
  });
});
