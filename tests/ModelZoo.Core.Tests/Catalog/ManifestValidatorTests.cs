using ModelZoo.Core.Catalog;

namespace ModelZoo.Core.Tests.Catalog;

public class ManifestValidatorTests
{
    static readonly ModelManifest Good = new()
    {
        Id = "resnet18.tv_in1k", Architecture = "resnet18", Tag = "tv_in1k", Family = "resnet", Task = "image-classification",
        Title = "ResNet-18", Provenance = "torchvision", Head = new HeadInfo { Classifier = "fc", NumClasses = 1000 },
    };

    [Fact]
    public void Validate_AcceptsACompleteManifest() => ManifestValidator.Validate(Good, "resnet18.tv_in1k").ShouldBeEmpty();

    [Fact]
    public void Validate_RejectsAPublishedFigureWithoutSource()
    {
        var m = Good with { Metrics = [new PublishedMetric { Name = "top1", Value = 69.7, Dataset = "ImageNet" }] };
        ManifestValidator.Validate(m, m.Id).ShouldContain(p => p.Contains("no source"));
    }

    [Fact]
    public void Validate_RejectsIdThatDiffersFromFolder() =>
        ManifestValidator.Validate(Good, "resnet18.other").ShouldContain(p => p.Contains("differs from its folder"));

    [Fact]
    public void Validate_RejectsMalformedHash()
    {
        var m = Good with { Weights = new WeightsInfo { File = "x.pth", Format = "pth", Sha256 = "abc" } };
        ManifestValidator.Validate(m, m.Id).ShouldContain(p => p.Contains("sha256"));
    }

    [Theory]
    [InlineData("../config.json")]
    [InlineData("sub/config.json")]
    [InlineData("")]
    public void Validate_RejectsAConfigOutsideTheEntryFolder(string config) =>
        ManifestValidator.Validate(Good with { Config = config }, Good.Id).ShouldContain(p => p.Contains("must be a file name in the entry's folder"));

    [Fact]
    public void Validate_AcceptsAConfigFileName() => ManifestValidator.Validate(Good with { Config = "config.json" }, Good.Id).ShouldBeEmpty();

    [Fact]
    public void Validate_AcceptsATextSectionWithPlainFileNamesAndASource()
    {
        var m = Good with { Text = new TextInfo { VocabFile = "vocab.txt", ConfigFile = "config.json", MaxLength = 128, Source = "tokenizer_config.json" } };
        ManifestValidator.Validate(m, m.Id).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("config.json", "config.json", true)]
    [InlineData("config.json", null, true)]
    [InlineData("config.json", "bert_config.json", false)]
    public void Validate_RequiresConfigAndTextConfigFile_ToNameOneFile(string config, string? textConfig, bool ok)
    {
        var m = Good with { Config = config, Text = new TextInfo { VocabFile = "vocab.txt", ConfigFile = textConfig, MaxLength = 128, Source = "a" } };
        var problems = ManifestValidator.Validate(m, m.Id);
        if (ok) problems.ShouldBeEmpty();
        else problems.ShouldHaveSingleItem().ShouldContain("name different files");
    }

    [Fact]
    public void Validate_AcceptsBundledWeights_WithHashAndSize()
    {
        var m = Good with { Weights = new WeightsInfo { File = "model.safetensors", Format = "safetensors", Bundled = true, Sha256 = new string('0', 64), Size = 10 } };
        ManifestValidator.Validate(m, m.Id).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("../vocab.txt", null, 128, "a", "text.vocab_file")]
    [InlineData("", null, 128, "a", "text.vocab_file")]
    [InlineData("vocab.txt", "sub/config.json", 128, "a", "text.config_file")]
    [InlineData("vocab.txt", ".config.json", 128, "a", "text.config_file")]
    [InlineData("vocab.txt", null, 2, "a", "text.max_length")]
    [InlineData("vocab.txt", null, 128, null, "text.source")]
    public void Validate_NamesTheBadFieldOfATextSection(string vocab, string? config, int maxLength, string? source, string field)
    {
        var m = Good with { Text = new TextInfo { VocabFile = vocab, ConfigFile = config, MaxLength = maxLength, Source = source } };
        var problems = ManifestValidator.Validate(m, m.Id);
        problems.Count.ShouldBe(1);
        problems[0].ShouldStartWith(field);
    }

    [Theory]
    [InlineData(null, 10L, "model.safetensors", "need weights.sha256")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", null, "model.safetensors", "need weights.size")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", 10L, "../x.safetensors", "plain file name")]
    public void Validate_RejectsBundledWeights_ThatCannotBeChecked(string? sha, long? size, string file, string problem)
    {
        var m = Good with { Weights = new WeightsInfo { File = file, Format = "safetensors", Bundled = true, Sha256 = sha, Size = size } };
        ManifestValidator.Validate(m, m.Id).ShouldContain(p => p.Contains(problem));
    }

    [Fact]
    public void Validate_RejectsATrainingRecord_WithoutItsCommandOrDevice()
    {
        var m = Good with { Training = new TrainingRecord { Dataset = "glyphs", DatasetProvenance = "apt", Epochs = 1, Threads = 2, TrainSeconds = 1 } };
        var problems = ManifestValidator.Validate(m, m.Id);
        problems.ShouldContain(p => p.Contains("training.command"));
        problems.ShouldContain(p => p.Contains("training.device"));
    }
}
