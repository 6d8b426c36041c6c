// Every English message has a German, French and Spanish translation (and no catalogue keeps a
// message the code no longer uses), and no text in the JSX bypasses the catalogue.
/// <reference types="vite/client" />
import ts from "typescript";
import { describe, expect, it } from "vitest";
import de from "./de";
import es from "./es";
import fr from "./fr";
import { fill, formatDate, formatDuration, pickLocale, setLocale, t, tn } from "./index";

// Every source file of the editor (not tests, not the catalogues themselves), by path.
const FILES = Object.entries(import.meta.glob(["../**/*.ts", "../**/*.tsx", "!../**/*.test.ts", "!./de.ts", "!./fr.ts", "!./es.ts"], { query: "?raw", import: "default", eager: true }) as Record<string, string>);
// Attributes people read or hear (screen readers); their literal values must go through t().
const SPOKEN = new Set(["aria-label", "title", "placeholder", "label", "detail", "ariaLabel", "alt"]);
// Text in these elements is code or key names, the same in every language.
const VERBATIM = new Set(["code", "kbd", "pre"]);

function parse(path: string, text: string): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  ts.forEachChild(node, (child) => walk(child, visit));
}

/** The English messages: literal arguments of t(), tn() and msg() across ui/src. */
function englishMessages(): Set<string> {
  const found = new Set<string>();
  for (const [path, text] of FILES) {
    walk(parse(path, text), (node) => {
      if (!ts.isCallExpression(node) || !ts.isIdentifier(node.expression)) return;
      const name = node.expression.text;
      const args = name === "tn" ? node.arguments.slice(1, 3) : name === "t" || name === "msg" || name === "tx" ? node.arguments.slice(0, 1) : [];
      for (const arg of args) if (ts.isStringLiteralLike(arg)) found.add(arg.text);
    });
  }
  return found;
}

function insideVerbatim(node: ts.Node): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (ts.isJsxElement(p) && VERBATIM.has(p.openingElement.tagName.getText())) return true;
  }
  return false;
}

/** JSX text, spoken attributes and string children written as literals: "file:line text". */
function bypasses(): string[] {
  const found: string[] = [];
  for (const [path, source] of FILES.filter(([p]) => p.endsWith(".tsx"))) {
    const file = parse(path, source);
    const report = (node: ts.Node, text: string) => found.push(`${path}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${text.trim()}`);
    const literal = (e: ts.Expression | undefined): void => {
      if (!e) return;
      if (ts.isParenthesizedExpression(e)) return literal(e.expression);
      if (ts.isConditionalExpression(e)) return (literal(e.whenTrue), literal(e.whenFalse));
      if (ts.isBinaryExpression(e) && e.operatorToken.kind !== ts.SyntaxKind.PlusToken) return literal(e.right);
      if (ts.isStringLiteralLike(e) && /[A-Za-z]{2}/.test(e.text)) report(e, e.text);
      if (ts.isTemplateExpression(e) && /[A-Za-z]{2}/.test(e.head.text + e.templateSpans.map((s) => s.literal.text).join(""))) report(e, e.getText());
    };
    walk(file, (node) => {
      if (ts.isJsxText(node) && /[A-Za-z]/.test(node.text) && !insideVerbatim(node)) report(node, node.text);
      else if (ts.isJsxAttribute(node) && SPOKEN.has(node.name.getText()) && node.initializer) {
        if (ts.isStringLiteral(node.initializer)) literal(node.initializer);
        else if (ts.isJsxExpression(node.initializer)) literal(node.initializer.expression);
      } else if (ts.isJsxExpression(node) && (ts.isJsxElement(node.parent) || ts.isJsxFragment(node.parent)) && !insideVerbatim(node)) literal(node.expression);
    });
  }
  return found;
}

describe("message catalogues", () => {
  const english = [...englishMessages()].sort();

  it("finds the editor's messages", () => {
    expect(english.length).toBeGreaterThan(300);
    expect(english).toContain("Publish");
  });

  for (const [name, catalogue] of Object.entries({ de, fr, es })) {
    it(`${name} translates every English message and nothing else`, () => {
      const keys = Object.keys(catalogue).sort();
      expect(english.filter((key) => !(key in catalogue)), `missing in ${name}.ts`).toEqual([]);
      expect(keys.filter((key) => !english.includes(key)), `unused in ${name}.ts`).toEqual([]);
      expect(keys.filter((key) => !catalogue[key].trim()), `empty in ${name}.ts`).toEqual([]);
    });

    it(`${name} keeps every {placeholder} of the English`, () => {
      const names = (text: string) => (text.match(/\{\w+\}/g) ?? []).sort().join(" ");
      expect(Object.keys(catalogue).filter((key) => names(key) !== names(catalogue[key]))).toEqual([]);
    });
  }

  it("leaves no JSX text outside the catalogue", () => {
    expect(bypasses()).toEqual([]);
  });
});

describe("locale", () => {
  it("accepts regional and differently cased tags, refuses others", () => {
    expect(pickLocale("de-AT")).toBe("de");
    expect(pickLocale("FR")).toBe("fr");
    expect(pickLocale("es_MX")).toBe("es");
    expect(pickLocale("it")).toBeNull();
    expect(pickLocale(42)).toBeNull();
  });

  it("translates, fills placeholders, formats numbers and dates by locale, falls back to English", async () => {
    await setLocale("de");
    expect(t("Publish")).toBe(de["Publish"]);
    expect(tn(3, "{count} problem", "{count} problems")).toBe(fill(de["{count} problems"], { count: 3 }));
    expect(t("A message nobody translated yet")).toBe("A message nobody translated yet");
    expect(formatDuration(1500)).toBe("1,50 s");
    expect(formatDate("2026-03-05T10:00:00Z", { dateStyle: "long", timeZone: "UTC" })).toBe("5. März 2026");
    await setLocale("fr");
    expect(formatDate("2026-03-05T10:00:00Z", { dateStyle: "long", timeZone: "UTC" })).toBe("5 mars 2026");
    await setLocale("en");
    expect(t("Publish")).toBe("Publish");
    expect(formatDuration(1500)).toBe("1.50 s");
  });
});
