using System.Text.Json.Nodes;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Text;
using ModelZoo.Core.Training;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>A real, tiny BERT run for text tests: a two-topic corpus, its vocabulary, a 3-layer config and the job.</summary>
internal static class TinyBert
{
    static readonly string[] Openers = ["I think", "Yesterday", "Everyone said", "In the news,", "My friend wrote that", "Honestly,"];
    static readonly string[] Fillers = ["really", "again", "today", "quite", "as usual", "for once", "at last"];
    static readonly string[][] Subjects =
    [
        ["the team", "our striker", "the goalkeeper", "the coach", "the home side", "the referee"],
        ["the chef", "my grandmother", "the baker", "the cook", "our neighbour", "the waiter"],
    ];
    static readonly string[][] Predicates =
    [
        ["won the match", "scored a late goal", "missed the penalty", "lost the final", "trained in the rain", "celebrated the league title"],
        ["baked fresh bread", "burnt the sauce", "served the soup", "roasted the vegetables", "stirred the risotto", "tasted the dessert"],
    ];

    /// <summary>Sports or cooking sentences of varying length and casing; the classes share openers and fillers,
    /// so only the topic words separate them.</summary>
    public static TextSet SportsOrCooking(int perClass, int seed)
    {
        var rng = new Random(seed);
        var texts = new List<string>();
        var labels = new List<int>();
        for (int i = 0; i < perClass * 2; i++)
        {
            var c = i % 2;
            var words = new List<string> { Pick(rng, Openers), Pick(rng, Subjects[c]) };
            if (rng.Next(2) == 0) words.Add(Pick(rng, Fillers));
            words.Add(Pick(rng, Predicates[c]));
            if (rng.Next(3) == 0) words.AddRange(["and", Pick(rng, Subjects[c]), Pick(rng, Predicates[c])]);
            var s = string.Join(' ', words) + (rng.Next(2) == 0 ? "." : "!");
            texts.Add(rng.Next(4) == 0 ? s.ToUpperInvariant() : s);
            labels.Add(c);
        }
        return new TextSet { Texts = texts, Labels = labels.ToArray(), ClassNames = ["sports", "cooking"] };
    }

    static string Pick(Random rng, string[] options) => options[rng.Next(options.Length)];

    /// <summary>Specials, punctuation, then every lower-case word of the corpus, one per line.</summary>
    public static string WriteVocab(string dir, TextSet texts)
    {
        var words = texts.Texts.SelectMany(t => BasicTokenizer.Tokenize(t, lowercase: true)).Distinct().Order(StringComparer.Ordinal);
        var tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(words).ToList();
        var path = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(path, tokens);
        return path;
    }

    /// <summary>The shape of tests/fixtures/bert_dev_seed7.config.json: 3 layers of 48, 3 heads.</summary>
    public static string WriteConfig(string dir, int vocabSize)
    {
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, $$"""
            { "model_type": "bert", "vocab_size": {{vocabSize}}, "hidden_size": 48, "num_hidden_layers": 3,
              "num_attention_heads": 3, "intermediate_size": 96, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
              "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
              "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0 }
            """);
        return path;
    }

    /// <summary>A run of a tiny BERT (<see cref="WriteConfig"/>) on 240 sports or cooking texts (split 60/20/20,
    /// seed 3), with its vocabulary and config written into <paramref name="dir"/>.</summary>
    public static TrainingJob Job(string dir, HyperParameters h, string strategy, JsonObject? options = null, int maxLength = 64)
    {
        var texts = SportsOrCooking(perClass: 120, seed: 3);
        var vocab = WriteVocab(dir, texts);
        var config = WriteConfig(dir, File.ReadAllLines(vocab).Length);
        var info = new DatasetInfo { Id = "sports-cooking", Title = "Sports or cooking", Modality = DatasetModality.Text, ClassNames = texts.ClassNames, Examples = texts.Count };
        var data = new LoadedDataset(info, null, StratifiedSplitter.Split(texts.Labels, 3, 0.2, 0.2)) { Texts = texts };
        var manifest = new ModelManifest
        {
            Id = "bert.test", Architecture = "bert", Tag = "test",
            Head = new HeadInfo { Classifier = "classifier", NumClasses = 2 },
            Text = new TextInfo { VocabFile = "vocab.txt", ConfigFile = "config.json", Lowercase = true, MaxLength = maxLength, Source = "test" },
        };
        var request = new RunRequest { ModelId = manifest.Id, DatasetId = info.Id, HyperParameters = h, Strategy = strategy, Options = options };
        return new TrainingJob(Guid.NewGuid(), request, manifest, data, null, dir)
        {
            Text = new TextModelFiles(vocab, config, Lowercase: true, StripAccents: null, MaxLength: maxLength),
        };
    }
}
