using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Plan;

namespace ModelZoo.Core.Tests.Runs.Plan;

/// <summary>Each rule of the launch linter from both sides: the case it is for, and the nearest case it must leave alone.</summary>
public class LaunchLinterTests
{
    static readonly DatasetInfo Digits = new()
    {
        Id = "digits", Title = "Digits", ClassNames = ["0", "1"], Examples = 1000, Splits = new SplitSizes(800, 100, 100),
        ClassCounts = [500, 500], TrainClassCounts = [400, 400], Augmentation = AugmentationProfile.Digits,
    };

    /// <summary>A resnet-like map: a pretrained stem and body with BatchNorm, and a new head.</summary>
    static TrainingMap Map(double baseRate = 1e-3, bool frozenBody = false, long bodyParameters = 1_000_000, ModuleMode bodyBn = ModuleMode.Train, bool trains = true) =>
        new("resnet18", trains, baseRate,
        [
            new MapRow("stem", false, true, 10_000, frozenBody || !trains ? 0 : 10_000, frozenBody || !trains ? null : 0.49, frozenBody || !trains ? null : baseRate * 0.49,
                frozenBody ? ModuleMode.Eval : ModuleMode.Train, frozenBody ? ModuleMode.Eval : bodyBn),
            new MapRow("body", false, true, bodyParameters, frozenBody || !trains ? 0 : bodyParameters, frozenBody || !trains ? null : 0.7, frozenBody || !trains ? null : baseRate * 0.7,
                frozenBody ? ModuleMode.Eval : ModuleMode.Train, frozenBody ? ModuleMode.Eval : bodyBn),
            new MapRow("head", false, false, 1_026, trains ? 1_026 : 0, trains ? 1 : null, trains ? baseRate : null, ModuleMode.Train, null),
        ], []);

    static LintInput Input(HyperParameters? h = null, TrainingMap? map = null, DatasetInfo? d = null, bool pretrained = true, int? inputSize = 224) =>
        new(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "digits", HyperParameters = h ?? new HyperParameters() },
            inputSize, pretrained, d ?? Digits, map ?? Map());

    [Fact]
    public void SmallBatch_WithBatchNormTraining_Warns_NamingTheStages()
    {
        var w = LaunchLinter.BatchNormWithSmallBatch(Input(new HyperParameters { BatchSize = 8 }));
        w.ShouldNotBeNull();
        w.Message.ShouldContain("batches of 8");
        w.Message.ShouldContain("stem, body");
        w.Reason.ShouldContain("Wu & He (2018");
        w.Field.ShouldBe("HyperParameters.BatchSize");
    }

    [Fact]
    public void SmallBatch_IsFine_WhenBatchNormIsFrozenInEval_OrTheBatchIsLargeEnough()
    {
        LaunchLinter.BatchNormWithSmallBatch(Input(new HyperParameters { BatchSize = 8 }, Map(frozenBody: true))).ShouldBeNull();
        LaunchLinter.BatchNormWithSmallBatch(Input(new HyperParameters { BatchSize = 16 })).ShouldBeNull();
        LaunchLinter.BatchNormWithSmallBatch(Input(new HyperParameters { BatchSize = 8 }, Map(trains: false))).ShouldBeNull();
    }

    [Fact]
    public void SmallBatch_WarnsForMixedBatchNorm_Too()
    {
        LaunchLinter.BatchNormWithSmallBatch(Input(new HyperParameters { BatchSize = 4 }, Map(bodyBn: ModuleMode.Mixed))).ShouldNotBeNull();
    }

    [Fact]
    public void AdamWRate_TenTimesAboveTheUsualTop_OnPretrainedLayers_Warns()
    {
        // 0.05 × 0.7 = 0.035 on the body: 35x AdamW's usual top of 1e-3.
        var w = LaunchLinter.LearningRateTooHigh(Input(new HyperParameters { LearningRate = 0.05 }, Map(baseRate: 0.05)));
        w.ShouldNotBeNull();
        w.Message.ShouldContain("0.035 (body)");
        w.Message.ShouldContain("1e-05 to 0.001");
    }

    [Fact]
    public void Rate_IsFine_InTheRange_OrWhenOnlyTheNewHeadTrainsFast_OrForSgd()
    {
        LaunchLinter.LearningRateTooHigh(Input(new HyperParameters { LearningRate = 1e-3 }, Map(baseRate: 1e-3))).ShouldBeNull();
        // Only the head (new, not pretrained) trains at 0.05.
        LaunchLinter.LearningRateTooHigh(Input(new HyperParameters { LearningRate = 0.05 }, Map(baseRate: 0.05, frozenBody: true))).ShouldBeNull();
        // SGD's usual top is 0.1: 0.035 is inside it.
        LaunchLinter.LearningRateTooHigh(Input(new HyperParameters { LearningRate = 0.05, Optimizer = OptimizerKind.Sgd }, Map(baseRate: 0.05))).ShouldBeNull();
    }

    [Fact]
    public void SgdRate_FarAboveItsRange_Warns()
    {
        LaunchLinter.LearningRateTooHigh(Input(new HyperParameters { LearningRate = 5, Optimizer = OptimizerKind.Sgd }, Map(baseRate: 5)))
            .ShouldNotBeNull().Message.ShouldContain("SGD");
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(111, true)]
    [InlineData(112, false)]
    [InlineData(224, false)]
    [InlineData(448, false)]
    [InlineData(449, true)]
    [InlineData(0, false)]
    public void InputSize_FarFromThePretrainingSize_Warns(int size, bool warns)
    {
        var w = LaunchLinter.InputSizeFarFromPretraining(Input(new HyperParameters { ImageSize = size }));
        (w is not null).ShouldBe(warns);
        if (warns) w!.Message.ShouldContain($"{size} px");
    }

    [Fact]
    public void InputSize_DoesNotMatter_WithoutPretrainedWeights_OrForText()
    {
        LaunchLinter.InputSizeFarFromPretraining(Input(new HyperParameters { ImageSize = 32 }, pretrained: false)).ShouldBeNull();
        LaunchLinter.InputSizeFarFromPretraining(Input(new HyperParameters { ImageSize = 32 }, inputSize: null)).ShouldBeNull();
    }

    [Fact]
    public void LabelledExamples_FollowTheBudget_ThenTheLimit()
    {
        LaunchLinter.LabelledTrainingExamples(Digits, new HyperParameters()).ShouldBe(800);
        LaunchLinter.LabelledTrainingExamples(Digits, new HyperParameters { LabelsPerClass = 10 }).ShouldBe(20);
        LaunchLinter.LabelledTrainingExamples(Digits, new HyperParameters { LabelsPerClass = 100, TrainLimit = 150 }).ShouldBe(150);
    }

    [Fact]
    public void ManyTrainedParameters_PerLabelledExample_Warn_WithTheNumbers()
    {
        // 1,011,026 trained parameters on 20 examples: 50,551 per example.
        var w = LaunchLinter.FewExamplesForTrainedParameters(Input(new HyperParameters { LabelsPerClass = 10 }));
        w.ShouldNotBeNull();
        w.Message.ShouldContain("1,011,026 parameters train on 20 labelled examples");
        w.Message.ShouldContain("50,551 parameters per example");
    }

    [Fact]
    public void TrainedParameters_AreFine_WithEnoughExamples_OrAFrozenBody()
    {
        // 1,011,026 on 800: 1,264 per example.
        LaunchLinter.FewExamplesForTrainedParameters(Input()).ShouldBeNull();
        // Only the head's 1,026 on 20: 51 per example.
        LaunchLinter.FewExamplesForTrainedParameters(Input(new HyperParameters { LabelsPerClass = 10 }, Map(frozenBody: true))).ShouldBeNull();
    }

    [Fact]
    public void Flips_OnADatasetWhoseProfileForbidsThem_Warn()
    {
        var h = new HyperParameters { Augmentation = AugmentationProfile.Digits with { HorizontalFlip = true } };
        var warnings = LaunchLinter.AugmentationAgainstProfile(Input(h)).ToList();
        warnings.Select(w => w.Code).ShouldBe(["augmentation-flip"]);
        warnings[0].Message.ShouldContain("Digits");
    }

    [Fact]
    public void Augmentation_WithinTheProfile_OrTheProfileItself_OrOff_IsFine()
    {
        LaunchLinter.AugmentationAgainstProfile(Input(new HyperParameters())).ShouldBeEmpty();
        LaunchLinter.AugmentationAgainstProfile(Input(new HyperParameters { Augmentation = AugmentationProfile.Digits with { MaxRotationDegrees = 5, MinCropScale = 0.9 } })).ShouldBeEmpty();
        LaunchLinter.AugmentationAgainstProfile(Input(new HyperParameters { Augment = false, Augmentation = AugmentationProfile.Photos })).ShouldBeEmpty();
        // Garments allow flips.
        LaunchLinter.AugmentationAgainstProfile(Input(new HyperParameters { Augmentation = AugmentationProfile.Garments },
            d: Digits with { Augmentation = AugmentationProfile.Garments })).ShouldBeEmpty();
    }

    [Fact]
    public void Rotation_AndCrop_BeyondTheProfile_Warn()
    {
        var h = new HyperParameters { Augmentation = AugmentationProfile.Digits with { MaxRotationDegrees = 45, MinCropScale = 0.2 } };
        LaunchLinter.AugmentationAgainstProfile(Input(h)).Select(w => w.Code).ShouldBe(["augmentation-rotation", "augmentation-crop"]);
    }

    [Fact]
    public void Lint_GathersEveryRule_AndNeedsNoMapForTheRulesThatReadNone()
    {
        var h = new HyperParameters { ImageSize = 32, BatchSize = 4, Augmentation = AugmentationProfile.Photos };
        LaunchLinter.Lint(Input(h)).Select(w => w.Code).ShouldBe(["batchnorm-small-batch", "input-size-far", "augmentation-flip", "augmentation-crop"]);
        LaunchLinter.Lint(new LintInput(new RunRequest { HyperParameters = h }, 224, true, Digits, null))
            .Select(w => w.Code).ShouldBe(["input-size-far", "augmentation-flip", "augmentation-crop"]);
    }
}
