using System.CommandLine;
using System.Globalization;
using ModelZoo.Cli;

namespace ModelZoo.Cli.Tests.Benchmarks;

/// <summary>The text benchmark's plumbing: what it reads, what it refuses, what it prints. No timing is asserted.</summary>
public sealed class TextBenchCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-textbench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string text) { var p = Path.Combine(_dir, name); File.WriteAllText(p, text); return p; }

    string Vocab() => Write("vocab.txt", string.Join('\n', "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", ".", "a", "big", "dog") + "\n");

    string Config() => Write("config.json", """
        { "vocab_size": 20, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
          "max_position_embeddings": 64 }
        """);

    static (int Exit, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        var exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = output });
        return (exit, output.ToString());
    }

    [Fact]
    public void BenchText_PadsShortTextsToTheirLongest_AndPrintsTheRatio()
    {
        var texts = Write("texts.txt", "the cat sat on the mat.\na big dog\nthe cat\nthe dog sat on a mat.\n");
        var (exit, output) = Run("bench", "text", "--vocab", Vocab(), "--texts", texts, "--config", Config(),
            "--max-tokens", "32", "--batch", "2", "--batches", "2", "--rounds", "1", "--threads", "1");
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("4 texts, 19 pieces, vocab 14");
        output.ShouldContain("| batch length, padded to max | 32 |");
        // Batches: (9, 5) -> 9 and (4, 9) -> 9 tokens with [CLS]/[SEP].
        output.ShouldContain("| mean batch length, padded to longest | 9.0 |");
        output.ShouldContain("| ratio longest / max |");
    }

    [Fact]
    public void BenchText_RefusesAVocabularyWithoutSpecialTokens_NamingTheFile()
    {
        var vocab = Write("bad.txt", "the\ncat\n");
        var (exit, output) = Run("bench", "text", "--vocab", vocab, "--texts", Write("t.txt", "the cat\n"));
        exit.ShouldBe(ExitCodes.BadInput);
        output.ShouldContain(vocab);
        output.ShouldContain("[UNK]");
    }

    [Fact]
    public void BenchText_RefusesAMissingTextsFile() =>
        Run("bench", "text", "--vocab", Vocab(), "--texts", Path.Combine(_dir, "none.txt")).Exit.ShouldBe(ExitCodes.BadInput);
}
