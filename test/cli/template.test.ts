import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, HEADER_FUNCS } from '../../src/cli/format/template';
import { renderFormat } from '../../src/cli/format/formatter';

const run = (src: string, data: unknown): string => parseTemplate(src).execute(data);

test('fields, nested fields and missing map keys', () => {
  const data = { ID: 'abc', Spec: { Name: 'web', Labels: { a: '1' } } };
  assert.equal(run('{{.ID}} {{.Spec.Name}}', data), 'abc web');
  assert.equal(run('{{.Nope}}', data), '<no value>');
  assert.equal(run('{{.Spec.Nope.Deeper}}', data), '<no value>');
  assert.equal(run('{{.}}', 'x'), 'x');
  assert.equal(run('{{.Spec.Labels}}', data), 'map[a:1]');
  assert.equal(run('{{.L}}', { L: ['a', 'b'] }), '[a b]');
});

test('json, upper, lower, title, join, split, pad, truncate', () => {
  const data = { Name: 'web', Spec: { A: 1, B: 'x<y' }, L: ['a', 'b'] };
  assert.equal(run('{{json .Spec}}', data), '{"A":1,"B":"x<y"}');
  assert.equal(run('{{json .}}', { a: 1 }), '{"a":1}');
  assert.equal(run('{{upper .Name}} {{lower "ABC"}} {{title "hello world"}}', data), 'WEB abc Hello World');
  assert.equal(run('{{join .L ","}}', data), 'a,b');
  assert.equal(run('{{index (split "a:b" ":") 1}}', data), 'b');
  assert.equal(run('[{{pad .Name 1 2}}]', data), '[ web  ]');
  assert.equal(run('{{truncate .Name 2}}', data), 'we');
  assert.equal(run('{{.Name | upper}}', data), 'WEB');
});

test('if / else if / else, with, range with variables, trim markers', () => {
  assert.equal(run('{{if .A}}yes{{else}}no{{end}}', { A: 0 }), 'no');
  assert.equal(run('{{if .A}}a{{else if .B}}b{{else}}c{{end}}', { A: '', B: [1] }), 'b');
  assert.equal(run('{{with .S}}{{.N}}{{else}}none{{end}}', { S: { N: 'n' } }), 'n');
  assert.equal(run('{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}', { M: { b: '2', a: '1' } }), 'a=1;b=2;');
  assert.equal(run('{{range .L}}<{{.}}>{{else}}empty{{end}}', { L: [] }), 'empty');
  assert.equal(run('{{range $i, $e := .L}}{{$i}}{{$e}}{{end}}', { L: ['x', 'y'] }), '0x1y');
  assert.equal(run('a  {{- .X -}}  b', { X: 1 }), 'a1b');
  assert.equal(run('{{/* comment */}}ok', {}), 'ok');
  assert.equal(run('{{$x := .A}}{{$x}}{{$x = "b"}}{{$x}}', { A: 'a' }), 'ab');
  assert.equal(run('{{if and .A (not .B)}}t{{end}}', { A: true, B: false }), 't');
  assert.equal(
    run('{{if eq .S "x" "y"}}t{{end}}{{if ne .S "z"}}u{{end}}{{if gt .N 0.0}}v{{end}}', { S: 'y', N: 1 }),
    'tuv',
  );
  assert.equal(
    run('{{len .L}} {{index .M "k"}} {{printf "%s-%d" .S 3}}', { L: [1, 2], M: { k: 'v' }, S: 's' }),
    '2 v s-3',
  );
});

test('class-instance contexts: getters are fields, unknown fields are errors', () => {
  class Ctx {
    get Name(): string {
      return 'n';
    }
  }
  assert.equal(run('{{.Name}}', new Ctx()), 'n');
  assert.throws(() => run('{{.Foo}}', new Ctx()), /can't evaluate field Foo/);
});

test('parse errors', () => {
  assert.throws(() => parseTemplate('{{.A'), /unclosed action/);
  assert.throws(() => parseTemplate('{{if .A}}x'), /unexpected EOF/);
  assert.throws(() => run('{{nosuch .A}}', {}), /function "nosuch" not defined/);
});

test('header functions leave column names untouched', () => {
  const t = parseTemplate('{{upper .Name}} {{json .ID}}');
  assert.equal(t.execute({ Name: 'NAME', ID: 'ID' }, { funcs: HEADER_FUNCS }), 'NAME ID');
});

test('renderFormat: table with header, json lines, custom templates', () => {
  const rows = [
    { ID: 'a1', Name: 'web' },
    { ID: 'b22', Name: 'database' },
  ];
  const header = { ID: 'ID', Name: 'NAME' };
  assert.equal(
    renderFormat('table {{.ID}}\t{{.Name}}', rows, header),
    'ID        NAME\na1        web\nb22       database\n',
  );
  assert.equal(renderFormat('json', rows, header), '{"ID":"a1","Name":"web"}\n{"ID":"b22","Name":"database"}\n');
  assert.equal(renderFormat('{{.Name}}: {{.ID}}', rows), 'web: a1\ndatabase: b22\n');
  assert.equal(renderFormat('table {{.Name}}', [], header), 'NAME\n');
  assert.equal(renderFormat('table {{.Nope}}', rows.slice(0, 1), header), '<no value>\n<no value>\n');
  assert.throws(() => renderFormat('{{.A', rows), /template parsing error/);
});
