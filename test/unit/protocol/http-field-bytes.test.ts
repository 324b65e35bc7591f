import { isFieldValue, isToken, isTokenByte, isValueByte } from '../../../src/protocol/http-field-bytes';

// The rules as RFC 9110 writes them (§5.6.2 tchar, §5.5 field-vchar, SP and HTAB), and as
// node:http's own `checkIsHttpToken` and `checkInvalidHeaderChar` apply them.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

describe('field bytes', () => {
  it('takes every byte as the RFC rules do, and nothing above 0xff', () => {
    for (let code = 0; code < 0x200; code++) {
      const char = String.fromCharCode(code);
      expect([code, isTokenByte(code), isToken(char)]).toEqual([code, TOKEN.test(char), TOKEN.test(char)]);
      expect([code, isValueByte(code), isFieldValue(`a${char}b`)]).toEqual([code, FIELD_VALUE.test(char), FIELD_VALUE.test(`a${char}b`)]);
    }
  });

  it('a token has at least one byte, a value may be empty', () => {
    expect(isToken('')).toBe(false);
    expect(isFieldValue('')).toBe(true);
    expect(isToken('Content-Type')).toBe(true);
    expect(isToken('Bad Name')).toBe(false);
  });

  it('checks a value between two offsets only', () => {
    expect(isFieldValue('\r\nok\r\n', 2, 4)).toBe(true);
    expect(isFieldValue('\r\nok\r\n', 1, 4)).toBe(false);
    expect(isFieldValue('\r\nok\r\n', 2)).toBe(false);
  });
});
