using ModelZoo.Core.Cards;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Cards;

public class StudentTeacherCardTests
{
    static readonly TeacherComparison Teacher = new()
    {
        TeacherRunId = Guid.Parse("0193a000-0000-7000-8000-000000000001"), TeacherModelId = "resnet50.tv_in1k", TeacherArchitecture = "resnet50",
        TeacherTestAccuracy = 0.95, TeacherRecordedTestAccuracy = 0.951, TeacherParameters = 23_528_522, StudentParameters = 11_181_642,
        TeacherWeightsBytes = 94_200_000, StudentTensorBytes = 44_800_000, TeacherLatencyMs = 30.5, StudentLatencyMs = 12.25,
        LatencyRepeats = 51, LatencyDevice = "CPU, 2 intra-op thread(s)", Agreement = 0.9,
    };

    static CardInput Distilled(TrainedWeights? weights = null)
    {
        var input = ModelCardBuilderTests.Input();
        return input with
        {
            Strategy = StrategyDescription.Of<DistillationOptions>(), Options = new DistillationOptions(),
            Result = input.Result with { Teacher = Teacher, TrainedWeights = weights },
        };
    }

    [Fact]
    public void Card_ShowsTheStudentBesideTheTeacher_FromWhatTheRunMeasured()
    {
        var md = ModelCardBuilder.Build(Distilled(new TrainedWeights("model.safetensors", new string('b', 64), 44_812_345)));
        md.ShouldContain("### Student and teacher");
        md.ShouldContain("0193a000-0000-7000-8000-000000000001");
        md.ShouldContain("| test accuracy | 87.65 % | 95.00 % | -7.35 points |");
        md.ShouldContain("| parameters | 11,181,642 | 23,528,522 | 0.48× |");
        md.ShouldContain("| weights file (F32 safetensors) | 44.81 MB | 94.2 MB | 0.48× |");
        md.ShouldContain("| 12.25 ms | 30.5 ms | 0.4× |");
        md.ShouldContain("median of 51");
        md.ShouldContain("95.10 %", customMessage: "the teacher run's own recorded accuracy");
    }

    [Fact]
    public void Card_WithoutASavedFile_SaysTheStudentsSizeIsItsTensors() =>
        ModelCardBuilder.Build(Distilled()).ShouldContain("44.8 MB (tensors)");

    [Fact]
    public void Card_OfOtherRuns_HasNoTeacherTable() =>
        ModelCardBuilder.Build(ModelCardBuilderTests.Input()).ShouldNotContain("Student and teacher");
}
