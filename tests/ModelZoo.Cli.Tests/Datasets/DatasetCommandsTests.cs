using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Cli.Tests.Datasets;

public class DatasetCommandsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-cli-ds-").FullName;

    static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Lengths_PrintsCharactersWordsAndTokens_OfAStoredTextDataset()
    {
        var store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = _dir }, _dir));
        string[] texts = ["good", "good good", "bad bad bad", "bad"];
        store.Write(new DatasetInfo { Id = "tiny-text", ClassNames = ["a", "b"] },
            new TextSet { Texts = texts, Labels = [1, 1, 0, 0], ClassNames = ["a", "b"] }, new SplitIndices(1, [0, 1, 2, 3], [], []));
        var vocab = Path.Combine(_dir, "vocab.txt");
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "ba", "##d"]);

        var (exit, output, error) = Run("datasets", "lengths", "tiny-text", "--data-dir", _dir, "--vocab", vocab, "--max-length", "7");

        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("characters: min 3, median 9, mean 6.8, 90% 11, 99% 11, max 11");
        output.ShouldContain("words: min 1, median 2, mean 1.8");
        // good=1, bad=2 pieces, plus [CLS] and [SEP]: 3, 4, 8, 4.
        output.ShouldContain("tokens: min 3, median 4, mean 4.8, 90% 8, 99% 8, max 8; 1 of 4 over 7");
        output.ShouldContain("tokenized 4 texts");
    }

    [Fact]
    public void UnknownDatasets_ExitWithBadInput()
    {
        Run("datasets", "lengths", "nope", "--data-dir", _dir).ShouldSatisfyAllConditions(
            r => r.Exit.ShouldBe(ExitCodes.BadInput), r => r.Err.ShouldContain("no dataset 'nope'"));
        Run("datasets", "fetch", "cifar", "--data-dir", _dir).ShouldSatisfyAllConditions(
            r => r.Exit.ShouldBe(ExitCodes.BadInput), r => r.Err.ShouldContain("'cifar' is not a built-in dataset"), r => r.Err.ShouldContain("wordnet-supersenses"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
