/**
 * The most common passwords of at least 8 characters, from public breach
 * corpora (top of the SecLists and NCSC lists), lower case. Shorter ones are
 * refused by the length rule anyway. NIST SP 800-63B §3.1.1.2 asks for such
 * a blocklist; the `isBreached` hook can add a full breach corpus check.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '00000000', '11111111', '12121212', '12341234', '12344321', '12345678', '123456789', '1234567890',
  '12345678910', '123123123', '123321123', '123456123', '123654789', '147258369', '159753456', '1q2w3e4r',
  '1q2w3e4r5t', '1qaz2wsx', '1qazxsw2', '22222222', '55555555', '654321654321', '66666666', '69696969',
  '77777777', '87654321', '88888888', '987654321', '9876543210', '99999999', 'a1b2c3d4', 'aa123456',
  'aaaaaaaa', 'abc12345', 'abcd1234', 'abcdefgh', 'access14', 'admin123', 'administrator', 'alexander',
  'asdf1234', 'asdfasdf', 'asdfghjk', 'asdfghjkl', 'baseball', 'basketball', 'batman123', 'blink182',
  'changeme', 'charlie1', 'chocolate', 'computer', 'corvette', 'dearbook', 'dragon12', 'elizabeth',
  'football', 'football1', 'freedom1', 'gateway1', 'hello123', 'iloveyou', 'iloveyou1', 'jennifer',
  'jordan23', 'letmein1', 'liverpool', 'login123', 'lovely12', 'master12', 'maverick', 'mercedes',
  'michelle', 'midnight', 'monkey12', 'mustang1', 'myspace1', 'nicholas', 'p@ssw0rd', 'p@ssword',
  'passw0rd', 'password', 'password!', 'password1', 'password12', 'password123', 'password1234', 'passwort',
  'pokemon1', 'princess', 'princess1', 'q1w2e3r4', 'q1w2e3r4t5', 'qazwsxedc', 'qwer1234', 'qwerty12',
  'qwerty123', 'qwerty1234', 'qwertyui', 'qwertyuiop', 'samantha', 'secret12', 'shadow12', 'starwars',
  'sunshine', 'sunshine1', 'superman', 'test1234', 'trustno1', 'welcome1', 'welcome123', 'whatever',
  'zaq12wsx', 'zxcvbnm1', 'zxcvbnm123', 'letmein123', 'qwerty11', 'iloveyou2', 'loveyou1', 'abc123456',
  'a123456789', 'qwerty12345', 'motdepasse', 'contraseña', 'passwort1', 'azertyuiop', 'azerty123', 'soccer12'
])
