using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Tests.Datasets;

public class TextDatasetStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-txtstore-").FullName;
    readonly DatasetStore _store;

    public TextDatasetStoreTests() => _store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = Path.Combine(_dir, "data") }, _dir));

    static readonly string[] Awkward =
    [
        "plain", "two\nlines\r\nand a CR\r", "\"quoted\", with commas\tand tabs", "émigré naïve 日本語 🙂", "",
        "line separator\u2028paragraph\u2029end", "back\\slash {\"json\": true}",
    ];

    [Fact]
    public void Write_ThenLoad_GivesBackEveryTextExactly_WithLabelsSplitAndCounts()
    {
        var texts = Enumerable.Range(0, 70).Select(i => $"{Awkward[i % Awkward.Length]} #{i}").ToList();
        var labels = Enumerable.Range(0, 70).Select(i => i % 2).ToArray();
        var split = StratifiedSplitter.Split(labels, 7);
        var info = _store.Write(new DatasetInfo { Id = "txt", Title = "Texts", ClassNames = ["a", "b"], Width = 28 },
            new TextSet { Texts = texts, Labels = labels, ClassNames = ["a", "b"] }, split);

        info.Modality.ShouldBe(DatasetModality.Text);
        info.ClassCounts.ShouldBe([35, 35]);
        info.Splits.ShouldBe(new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length), "the store fills the split sizes from the split it writes");
        info.TrainClassCounts.ShouldBe([split.Train.Count(i => labels[i] == 0), split.Train.Count(i => labels[i] == 1)], "and the training split's count per class");
        info.TrainClassCounts.Sum().ShouldBe(split.Train.Length);
        _store.Find("txt")!.TrainingClassCounts().Estimated.ShouldBeFalse("the stored facts carry them");
        info.Width.ShouldBe(0, "a text dataset has no image size");
        var loaded = _store.Load("txt");
        loaded.Images.ShouldBeNull();
        loaded.Texts.ShouldNotBeNull();
        loaded.Texts.Texts.ShouldBe(texts);
        loaded.Texts.Labels.ShouldBe(labels);
        loaded.Split.Test.ShouldBe(split.Test);
        loaded.Info.Modality.ShouldBe(DatasetModality.Text);
        _store.ReadLabels("txt").ShouldBe(labels);
        File.ReadAllLines(Path.Combine(_store.FolderOf("txt"), DatasetStore.TextsFile)).Length.ShouldBe(70, "one line per text");
        Should.Throw<InvalidOperationException>(() => _store.ReadImages("txt", [0]));
    }

    [Fact]
    public void Write_RefusesMismatchedTextsAndLabels_AndLeavesNoFolder()
    {
        Should.Throw<ArgumentException>(() => _store.Write(new DatasetInfo { Id = "bad", ClassNames = ["a", "b"] },
            new TextSet { Texts = ["x", "y"], Labels = [0], ClassNames = ["a", "b"] }, new SplitIndices(1, [0], [], [])));
        Should.Throw<ArgumentException>(() => _store.Write(new DatasetInfo { Id = "bad", ClassNames = ["a", "b"] },
            new TextSet { Texts = ["x", "y"], Labels = [0, 5], ClassNames = ["a", "b"] }, new SplitIndices(1, [0, 1], [], [])));
        _store.Exists("bad").ShouldBeFalse();
        var datasets = Path.Combine(_dir, "data", "datasets");
        (Directory.Exists(datasets) ? Directory.EnumerateFileSystemEntries(datasets) : []).ShouldBeEmpty("no temp folder is left behind");
    }

    [Fact]
    public void Load_RefusesATextsFileThatDoesNotMatchTheLabels()
    {
        _store.Write(new DatasetInfo { Id = "cut", ClassNames = ["a", "b"] },
            new TextSet { Texts = ["x", "y", "z"], Labels = [0, 1, 1], ClassNames = ["a", "b"] }, new SplitIndices(1, [0, 1, 2], [], []));
        File.WriteAllText(Path.Combine(_store.FolderOf("cut"), DatasetStore.TextsFile), "\"x\"\n\"y\"\n");
        Should.Throw<InvalidDataException>(() => _store.Load("cut")).Message.ShouldContain("2 texts for 3 labels");
    }

    [Fact]
    public void Write_WithoutReplace_KeepsADatasetThatExists_AndLeavesNoTemp()
    {
        var first = new TextSet { Texts = ["a", "b"], Labels = [0, 1], ClassNames = ["x", "y"] };
        _store.Write(new DatasetInfo { Id = "taken", Title = "First", ClassNames = ["x", "y"] }, first, new SplitIndices(1, [0, 1], [], []), replaceExisting: false);

        Should.Throw<DatasetExistsException>(() => _store.Write(new DatasetInfo { Id = "taken", Title = "Second", ClassNames = ["x", "y"] },
            first, new SplitIndices(1, [0, 1], [], []), replaceExisting: false)).Id.ShouldBe("taken");

        _store.Find("taken")!.Title.ShouldBe("First");
        Directory.EnumerateFileSystemEntries(Path.Combine(_dir, "data", "datasets")).Select(Path.GetFileName).ShouldBe(["taken"]);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
