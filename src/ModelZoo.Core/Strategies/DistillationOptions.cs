using System.Globalization;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>
/// Knowledge distillation (Hinton, Vinyals & Dean 2015): a succeeded run's trained model (<c>RunRequest.SourceRunId</c>,
/// the teacher) teaches the run's own model (the student) with temperature-softened targets beside the hard labels.
/// </summary>
public sealed record DistillationOptions : StrategyOptions, IStrategyDefinition<DistillationOptions>
{
    public const string KdLoss = "kd_loss", CeLoss = "ce_loss", ValAgreement = "val_agreement";

    public static StrategyInfo Info { get; } = new()
    {
        Id = "distillation",
        Title = "Knowledge distillation (a finished run teaches)",
        Order = 70,
        Summary = "A finished run's fine-tuned model (the teacher) teaches this run's model, usually a smaller one, with softened predictions beside the labels.",
        Explanation =
            "Knowledge distillation (Hinton, Vinyals & Dean 2015) trains a student to match a teacher's predictions as well as the labels. " +
            "Both models' logits are divided by the temperature T before the softmax, which spreads the teacher's probability over the " +
            "classes it finds similar (a 3 that looks a little like an 8); the student learns that from the Kullback-Leibler divergence " +
            "KL(softmax(teacher/T) ‖ softmax(student/T)). The loss is α·T²·KL + (1−α)·CE(student, label): the T² keeps the soft term's " +
            "gradients on the scale of the hard one whatever the temperature, so α alone sets their balance. The default α = 0.9 follows " +
            "Hinton et al., who found the best results with a considerably lower weight on the hard labels; lower it when the teacher is " +
            "barely better than the labels themselves. The teacher is the trained model another run saved, loaded exactly, frozen, in " +
            "inference mode and without gradients; it reads the same batches as the student (the same examples, the same augmentation). " +
            "So the two must read inputs alike: images at the same input size, resize and interpolation (a different per-channel mean " +
            "and std is converted exactly), texts with the same tokenizer; otherwise the launch is refused, naming the teacher run. The " +
            "student trains whole, as in full fine-tuning, with layer-wise rates. The card and the compare page show the student beside " +
            "the teacher: accuracy on the same test split, parameters, weights file size, and latency measured here at batch 1 on the CPU, " +
            "both models in the same measurement.",
        SourceRun = new SourceRunRole("Teacher run",
            "A run that succeeded and saved its trained model, with the same classes as this run's dataset, in the same order."),
        Metrics =
        [
            new MetricInfo(KdLoss, "Distillation loss", PerStep: true, "KL(softmax(teacher/T) ‖ softmax(student/T)) on the step's batch, before α and T²."),
            new MetricInfo(CeLoss, "Label loss", PerStep: true, "The student's cross-entropy with the labels on the step's batch, before 1−α."),
            new MetricInfo(ValAgreement, "Agreement with the teacher", PerStep: false, "The share of validation examples where the student predicts the teacher's class."),
        ],
    };

    [Option("Temperature", "T: both models' logits are divided by it before the softmax; higher spreads the teacher's probability over more classes (1: plain softmax; Hinton et al. used 2 to 20).", Min = 1, Max = 50)]
    public double Temperature { get; init; } = 4;

    [Option("Soft-target weight", "α: the weight of the distillation term; the labels' cross-entropy gets 1−α (1: the teacher alone, 0: the labels alone).", Min = 0, Max = 1)]
    public double Alpha { get; init; } = 0.9;

    [Option("Layer-wise decay", "The student trains whole; each earlier stage learns at this multiple of the next stage's rate (1: one rate for all).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 0.7;

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        const string Key = "SourceRunId";
        if (context.SourceRun is not { } teacher) yield break;
        if (teacher.Model is not { } t)
        {
            yield return new OptionProblem(Key, $"Run {teacher.Id} was trained from model '{teacher.ModelId}', which is no longer in the catalogue, so its model cannot be rebuilt as the teacher.");
            yield break;
        }
        var student = context.Model;
        if (t.Modality != student.Modality)
        {
            yield return new OptionProblem(Key, $"Run {teacher.Id}'s model '{t.Id}' reads {Noun(t.Modality)} and this run's model '{student.Id}' reads {Noun(student.Modality)}: the teacher must read the student's inputs.");
            yield break;
        }
        if (student.Modality == DatasetModality.Text)
        {
            if (t.Tokenizer is null)
                yield return new OptionProblem(Key, $"Run {teacher.Id}'s model '{t.Id}' has no vocabulary on this machine, so its tokenizer cannot be compared with the student's.");
            else if (student.Tokenizer is not null && t.Tokenizer != student.Tokenizer)
                yield return new OptionProblem(Key, $"Run {teacher.Id}'s model '{t.Id}' tokenises differently from this run's model '{student.Id}' " +
                    $"(teacher: {t.Tokenizer}; student: {student.Tokenizer}): distillation feeds both the same token ids, so it needs the same tokenizer. Choose a teacher run of a model with the student's vocabulary.");
            yield break;
        }
        if (t.Preprocessing is { } tp && student.Preprocessing is { } sp && InputDifference(sp, context.Training.ImageSize, tp, teacher.ImageSize) is { } difference)
            yield return new OptionProblem(Key, $"Run {teacher.Id}'s model '{t.Id}' reads images differently from this run's: {difference}. " +
                "Distillation feeds the teacher the student's batches (the same examples and augmentation), so both must read the same resized pixels.");
    }

    /// <summary>
    /// Why a teacher cannot read the student's image batches, or null when it can: the input size (each run's image size,
    /// or its model's own), the resize before the crop and the interpolation must agree; a different per-channel mean and
    /// std is fine (the teacher's input is the student's, renormalised exactly), while a channel order, pixel scale or mean
    /// image must match as a whole. The same rules as the pipeline's transform (ImageTransformSpec.From).
    /// </summary>
    public static string? InputDifference(Preprocessing student, int studentRunSize, Preprocessing teacher, int teacherRunSize)
    {
        static (int Input, int Resize) Geometry(Preprocessing p, int runSize)
        {
            var input = runSize > 0 ? runSize : p.InputSize;
            var resize = p.ResizeSize is int r && p.InputSize > 0 ? (int)Math.Round(r * (double)input / p.InputSize) : input;
            return (input, Math.Max(resize, input));
        }
        var (si, sr) = Geometry(student, studentRunSize);
        var (ti, tr) = Geometry(teacher, teacherRunSize);
        if (si != ti)
            return $"the teacher learnt at {ti}x{ti} pixels and this run feeds {si}x{si}; set the image size (HyperParameters.ImageSize) to {ti}, or choose a teacher run trained at {si}";
        if (sr != tr)
            return $"the teacher's images are resized to {tr} before the {ti}-pixel centre crop and the student's to {sr} (their models' crop ratios differ)";
        if (!string.Equals(student.Interpolation.Trim(), teacher.Interpolation.Trim(), StringComparison.OrdinalIgnoreCase))
            return $"the teacher resizes with {teacher.Interpolation} interpolation and the student with {student.Interpolation}";
        if (student.IsPerChannelOnly && teacher.IsPerChannelOnly) return null;
        if (student.ChannelOrder != teacher.ChannelOrder || student.PixelScale != teacher.PixelScale
            || !string.Equals(student.MeanImage?.Sha256, teacher.MeanImage?.Sha256, StringComparison.OrdinalIgnoreCase)
            || !student.Mean.SequenceEqual(teacher.Mean) || !student.Std.SequenceEqual(teacher.Std))
            return $"the teacher's pixels are {Describe(teacher)} and the student's {Describe(student)}; beyond a per-channel mean and std, the two must match";
        return null;
    }

    static string Describe(Preprocessing p) => string.Create(CultureInfo.InvariantCulture,
        $"{p.ChannelOrder.ToString().ToUpperInvariant()} on a 0-{p.PixelScale:G4} scale{(p.MeanImage is null ? "" : " less a mean image")}, mean [{string.Join(", ", p.Mean)}], std [{string.Join(", ", p.Std)}]");

    static string Noun(DatasetModality m) => m == DatasetModality.Text ? "texts" : "images";
}
