// Builds the WordPiece parity fixture: a vocabulary we wrote (TestData/vocab.txt) and the ids that Hugging Face's
// own JS tokenizer (@huggingface/tokenizers, the tokenizer library of transformers.js v4) gives for each sentence
// (TestData/wordpiece_expected.json). WordPieceTokenizerParityTests checks ours against every case.
//
// Run (node 20; no network beyond npm, no Hugging Face hub: the tokenizer.json is built here from the vocab):
//   cd "$(mktemp -d)" && npm pack @huggingface/tokenizers@0.2.0 && tar xzf huggingface-tokenizers-0.2.0.tgz \
//     && node /path/to/repo/tests/ModelZoo.Core.Tests/Text/make_wordpiece_expected.mjs "$PWD/package"
//
// The tokenizer.json is the one transformers' BertTokenizerFast writes (BertNormalizer, BertPreTokenizer, WordPiece
// with max_input_chars_per_word 100, TemplateProcessing [CLS] $A [SEP], special tokens as unnormalised added tokens).
// That library has no truncation or padding, so those are applied below exactly as transformers does for one text
// with truncation=True: keep the first max_length - 2 pieces, then [CLS] ... [SEP], then [PAD] to max_length.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkgDir = process.argv[2];
if (!pkgDir) { console.error("usage: node make_wordpiece_expected.mjs <unpacked @huggingface/tokenizers package dir>"); process.exit(2); }
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const { Tokenizer } = await import(pathToFileURL(join(pkgDir, "dist", "tokenizers.mjs")).href);

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "TestData");
mkdirSync(outDir, { recursive: true });

// ---- the vocabulary: specials, punctuation, single characters and their ## forms, then words and pieces ----
const specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const punct = [..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’—–¿¡…·§¶"];
const letters = [..."abcdefghijklmnopqrstuvwxyz"];
const digits = [..."0123456789"];
const singles = [...letters, ...digits, ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ", ..."éèêëïôüçñ", ..."σςοδφαβγ", ..."我是中国人日本語", "😀", "👍", "ᄒ", "ᅡ", "ᆫ", "ᄀ", "ᆨ", "ᄋ", "ᅥ", "한", "국", "어", "ｓ", "±", "€"];
const contSingles = [...letters, ...digits, ..."éèêëïôüç", ..."σςοδφα", "😀", "ᅡ", "ᆫ", "ᆨ", "ᅥ", "ᄀ", "ᄋ", "국", "어"].map(c => "##" + c);
const words = ["the", "quick", "brown", "fox", "jump", "over", "lazy", "dog", "hello", "world", "un", "aff", "able",
  "cafe", "café", "naive", "naïve", "resume", "résumé", "ecole", "école", "love", "emoji", "don", "it", "rock",
  "roll", "in", "and", "zero", "width", "soft", "hyphen", "bell", "char", "bom", "null", "repl", "hash", "caret",
  "tick", "com", "quoted", "smart", "single", "dash", "en", "que", "qué", "si", "sí", "ellipsis", "middot",
  "section", "pilcrow", "lowercase", "istanbul", "1990", "3", "14", "000", "leading", "tabs", "newlines", "nbsp",
  "ideographic", "em", "The", "Hello", "World", "Café", "Paris", "ÉCOLE", "Ecole", "ECOLE", "οδος", "σοφος",
  "mixed", "text", "here", "is", "a", "long", "sentence", "that", "will", "be", "truncated", "for", "sure",
  "tokens", "private", "use", "fullwidth", "arabic", "korean", "family", "deseret", "greek", "turkish"];
const pieces = ["##s", "##ed", "##ing", "##aff", "##able", "##ly", "##er", "##ness", "##ting", "##ation", "##90", "##00",
  "##😀", "##👍", "##ᅡᆫ", "##ss", "##t", "##n"];
const vocab = [];
for (const t of [...specials, ...punct, ...singles, ...contSingles, ...words, ...pieces]) if (!vocab.includes(t)) vocab.push(t);
writeFileSync(join(outDir, "vocab.txt"), vocab.join("\n") + "\n");

function tokenizerJson(lowercase, stripAccents) {
  const added = specials.map(content => ({ id: vocab.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const cls = vocab.indexOf("[CLS]"), sep = vocab.indexOf("[SEP]");
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: added,
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } },
             { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "[SEP]", type_id: 1 } }],
      special_tokens: { "[CLS]": { id: "[CLS]", ids: [cls], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [sep], tokens: ["[SEP]"] } },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100,
             vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  };
}

const configs = [
  { name: "uncased", lowercase: true, strip_accents: null },
  { name: "cased", lowercase: false, strip_accents: null },
  { name: "lowercase_keep_accents", lowercase: true, strip_accents: false },
];

const cases = [
  ["The quick brown fox jumps over the lazy dog.", 32],
  ["Hello, World!!", 32],
  ["Café naïve résumé ÉCOLE Ecole", 32],
  ["unaffable jumping", 32],
  ["foxþ is unknown, so is Ωmega", 32],
  ["  leading\ttabs\nnewlines\r\n  and\u00a0nbsp\u3000ideographic\u2003em  ", 32],
  ["zero\u200bwidth soft\u00adhyphen bell\u0007char \ufeffbom null\u0000char repl\ufffdchar private\ue000use", 40],
  ["我是中国人", 32],
  ["hello中国world日本語text", 32],
  ["ひらがなカタカナ mixed", 32],
  ["한국어 korean", 32],
  ["I love 😀😀 emoji 👍🏽! family 👨\u200d👩\u200d👧", 32],
  ["$100 ^caret `tick` a~b {c} [d] <e> f@g.com #hash 50% a&b a*b a_b a|b", 64],
  ["«quoted» “smart” ‘single’ — dash – en ¿qué? ¡sí! …ellipsis ·middot §section ¶pilcrow", 64],
  ["±× ÷ © ® ™ € £ ¥ ° 2±3 5€", 32],
  ["a".repeat(100), 128],
  ["a".repeat(101) + " fox", 32],
  ["😀".repeat(60), 128],
  ["😀".repeat(101), 32],
  ["hello [SEP] world [MASK]. [sep] lowercase a[CLS]b [UNK][PAD]", 32],
  ["ΟΔΟΣ ΣΟΦΟΣ Σ οδοσ. greek", 32],
  ["İstanbul turkish", 32],
  ["In 1990, 3.14 and 1,000,000", 32],
  ["", 16],
  ["   \t \n ", 16],
  ["here is a long sentence that will be truncated for sure", 8],
  ["here is a long sentence that will be truncated for sure", 3],
  ["cafe\u0301 cafe\u0301s", 32],
  ["ＦＵＬＬｗｉｄｔｈ １２３ fullwidth", 32],
  ["don't it's rock'n'roll", 32],
  ["مَرْحَبًا arabic", 32],
  ["𐐀𐐨 deseret", 32],
  ["Mixed CASE Text HERE", 32],
  ["tokens\u2028line\u2029para\u0085nel\u000bvt\u000cff", 32],
];

const out = {
  reference: {
    package: `${pkg.name}@${pkg.version}`,
    command: "cd \"$(mktemp -d)\" && npm pack @huggingface/tokenizers@0.2.0 && tar xzf huggingface-tokenizers-0.2.0.tgz && node tests/ModelZoo.Core.Tests/Text/make_wordpiece_expected.mjs \"$PWD/package\"",
    node: process.version,
    note: "Truncation and padding applied by the script as transformers does for one text (keep the first max_length - 2 pieces).",
  },
  vocab_file: "vocab.txt",
  configs,
  cases: [],
};

const toks = Object.fromEntries(configs.map(c => [c.name, new Tokenizer(tokenizerJson(c.lowercase, c.strip_accents), { model_max_length: 512 })]));
const clsId = vocab.indexOf("[CLS]"), sepId = vocab.indexOf("[SEP]"), padId = vocab.indexOf("[PAD]");
for (const [text, maxLength] of cases) {
  const expected = {};
  for (const c of configs) {
    const t = toks[c.name];
    const plain = t.encode(text, { add_special_tokens: false });
    const full = t.encode(text, { add_special_tokens: true, return_token_type_ids: true });
    // The post-processor must be exactly [CLS] pieces [SEP] with type 0, or the script's truncation would not be HF's.
    const want = [clsId, ...plain.ids, sepId];
    if (JSON.stringify(full.ids) !== JSON.stringify(want) || full.token_type_ids.some(x => x !== 0))
      throw new Error(`post-processing differs for ${JSON.stringify(text)}`);
    const kept = plain.ids.slice(0, maxLength - 2);
    const ids = [clsId, ...kept, sepId];
    const mask = ids.map(() => 1);
    while (ids.length < maxLength) { ids.push(padId); mask.push(0); }
    expected[c.name] = {
      tokens: plain.tokens,
      ids: plain.ids,
      input_ids: ids,
      attention_mask: mask,
      token_type_ids: ids.map(() => 0),
    };
  }
  out.cases.push({ text, max_length: maxLength, expected });
}
writeFileSync(join(outDir, "wordpiece_expected.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${vocab.length} tokens and ${out.cases.length} cases x ${configs.length} configs`);
