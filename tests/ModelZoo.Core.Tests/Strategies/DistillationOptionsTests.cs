using System.Text.Json.Nodes;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>Distillation's launch checks: the teacher run (through the validator's source-run check) and whether the
/// teacher can read the student's inputs (the options' own check).</summary>
public class DistillationOptionsTests
{
    /// <summary>The Core test catalogue plus distillation, as the Torch registry registers it.</summary>
    static readonly StrategyCatalog Catalog = new([.. TestStrategies.Catalog.All, StrategyDescription.Of<DistillationOptions>()]);
    static readonly Guid TeacherId = Guid.Parse("11111111-2222-3333-4444-555555555555");
    static readonly Preprocessing ImageNet = new() { InputSize = 224, ResizeSize = 256 };
    static readonly ModelFacts Student = TestStrategies.ResNet with { Id = "mobilenet_v3_small.tv_in1k", Preprocessing = ImageNet };
    static readonly ModelFacts TeacherModel = TestStrategies.ResNet with { Id = "resnet50.tv_in1k", Preprocessing = ImageNet };

    static readonly DatasetInfo Digits = new() { Id = "digits", Title = "digits", ClassNames = ["0", "1", "2"], ClassCounts = [30, 30, 30] };
    static readonly DatasetInfo Spam = new() { Id = "spam", Title = "spam", Modality = DatasetModality.Text, ClassNames = ["ham", "spam"], ClassCounts = [30, 30] };

    static SourceRunFacts Teacher(RunStatus status = RunStatus.Succeeded, IReadOnlyList<string>? classes = null, bool weights = true,
        ModelFacts? model = null, int imageSize = 64) =>
        new(TeacherId, status, (model ?? TeacherModel).Id, "digits", "full-fine-tune", classes ?? ["0", "1", "2"], 25_557_032, weights)
        {
            Model = model ?? TeacherModel, ImageSize = imageSize, TestAccuracy = 0.97,
        };

    static RunRequest Request(int imageSize = 64, JsonObject? options = null, Guid? source = null) => new()
    {
        ModelId = Student.Id, DatasetId = "digits", Strategy = "distillation", Options = options, SourceRunId = source ?? TeacherId,
        HyperParameters = new HyperParameters { ImageSize = imageSize },
    };

    static RunCheck Validate(RunRequest r, SourceRunFacts? teacher, ModelFacts? student = null, DatasetInfo? data = null) =>
        RunRequestValidator.Validate(r, Catalog, id => id == Student.Id ? student ?? Student : null,
            id => id == (data ?? Digits).Id ? data ?? Digits : null, id => id == TeacherId ? teacher : null);

    [Fact]
    public void ASucceededTeacher_WithTheSameClassesAndInputs_IsAccepted()
    {
        var check = Validate(Request(), Teacher());
        check.Errors.ShouldBeEmpty();
        var o = check.Options.ShouldBeOfType<DistillationOptions>();
        o.Temperature.ShouldBe(4);
        o.Alpha.ShouldBe(0.9);
    }

    [Fact]
    public void NoTeacherRun_IsRefused() =>
        Validate(Request() with { SourceRunId = null }, Teacher()).Errors["SourceRunId"].ShouldContain("teacher run");

    [Fact]
    public void AMissingTeacherRun_IsRefused() =>
        Validate(Request(source: Guid.NewGuid()), Teacher()).Errors["SourceRunId"].ShouldContain("does not exist");

    [Theory]
    [InlineData(RunStatus.Failed, "is failed")]
    [InlineData(RunStatus.Running, "is running")]
    [InlineData(RunStatus.Cancelled, "is cancelled")]
    public void ATeacherRunThatDidNotSucceed_IsRefused(RunStatus status, string expected)
    {
        var e = Validate(Request(), Teacher(status)).Errors;
        e["SourceRunId"].ShouldContain(expected);
        e["SourceRunId"].ShouldContain("succeeded");
    }

    [Fact]
    public void ATeacherRunWithoutItsModel_IsRefused() =>
        Validate(Request(), Teacher(weights: false)).Errors["SourceRunId"].ShouldContain("saved no trained model");

    [Fact]
    public void ATeacherWithOtherClasses_IsRefused()
    {
        Validate(Request(), Teacher(classes: ["a", "b", "c"])).Errors["SourceRunId"].ShouldContain("differ");
        // The same names in another order are other classes too: logit i would mean something else.
        Validate(Request(), Teacher(classes: ["1", "0", "2"])).Errors["SourceRunId"].ShouldContain("same order");
    }

    [Fact]
    public void ATeacherThatLearntAtAnotherImageSize_IsRefused_WithTheSizeToUse()
    {
        var e = Validate(Request(imageSize: 32), Teacher(imageSize: 64)).Errors;
        e["SourceRunId"].ShouldContain("64x64");
        e["SourceRunId"].ShouldContain("HyperParameters.ImageSize");
        // 0 means each model's own size: 224 for both.
        Validate(Request(imageSize: 0), Teacher(imageSize: 0)).Errors.ShouldBeEmpty();
        Validate(Request(imageSize: 0), Teacher(imageSize: 64)).Errors["SourceRunId"].ShouldContain("224x224");
    }

    [Fact]
    public void AnotherMeanAndStd_IsAccepted_ButAnotherCropRatioOrPixelFormat_IsNot()
    {
        var glyphs = TeacherModel with { Preprocessing = ImageNet with { Mean = [0.17, 0.17, 0.17], Std = [0.35, 0.35, 0.35] } };
        Validate(Request(), Teacher(model: glyphs)).Errors.ShouldBeEmpty();

        var noCrop = TeacherModel with { Preprocessing = ImageNet with { ResizeSize = null } };
        Validate(Request(), Teacher(model: noCrop)).Errors["SourceRunId"].ShouldContain("crop");

        var bicubic = TeacherModel with { Preprocessing = ImageNet with { Interpolation = "bicubic" } };
        Validate(Request(), Teacher(model: bicubic)).Errors["SourceRunId"].ShouldContain("bicubic");

        var caffe = TeacherModel with { Preprocessing = ImageNet with { ChannelOrder = ChannelOrder.Bgr, PixelScale = 255, Mean = [104, 117, 123], Std = [1, 1, 1] } };
        Validate(Request(), Teacher(model: caffe)).Errors["SourceRunId"].ShouldContain("BGR");
    }

    [Fact]
    public void ATeacherWhoseModelLeftTheCatalogue_IsRefused()
    {
        var gone = Teacher() with { Model = null };
        Validate(Request(), gone).Errors["SourceRunId"].ShouldContain("no longer in the catalogue");
    }

    [Fact]
    public void TextTeachers_NeedTheStudentsTokenizer()
    {
        var student = TestStrategies.Bert with { Id = Student.Id, Tokenizer = "vocabulary sha256 aaaa, lower-cased, accents stripped" };
        SourceRunFacts TextTeacher(string? tokenizer) =>
            Teacher(classes: ["ham", "spam"], model: TestStrategies.Bert with { Id = "bert.base_uncased_hf", Tokenizer = tokenizer }) with { DatasetId = "spam" };
        var request = Request() with { DatasetId = "spam" };

        Validate(request, TextTeacher(student.Tokenizer), student, Spam).Errors.ShouldBeEmpty();
        var e = Validate(request, TextTeacher("vocabulary sha256 bbbb, cased, accents kept"), student, Spam).Errors;
        e["SourceRunId"].ShouldContain("same tokenizer");
        Validate(request, TextTeacher(null), student, Spam).Errors["SourceRunId"].ShouldContain("no vocabulary");
    }

    [Fact]
    public void AnImageTeacher_ForATextStudent_IsRefused()
    {
        var student = TestStrategies.Bert with { Id = Student.Id, Tokenizer = "v" };
        var e = Validate(Request() with { DatasetId = "spam" }, Teacher(classes: ["ham", "spam"]), student, Spam).Errors;
        e["SourceRunId"].ShouldContain("reads images");
    }

    [Theory]
    [InlineData("temperature", 0.5)]
    [InlineData("alpha", 1.5)]
    [InlineData("alpha", -0.1)]
    public void OptionsOutsideTheirLimits_AreRefused_ByName(string option, double value) =>
        Validate(Request(options: new JsonObject { [option] = value }), Teacher()).Errors.Keys.ShouldContain($"Options.{option}");

    [Fact]
    public void OtherStrategies_RefuseATeacherRun() =>
        Validate(Request() with { Strategy = "full-fine-tune" }, Teacher()).Errors["SourceRunId"].ShouldContain("choose distillation");
}
