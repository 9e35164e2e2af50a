using System.Globalization;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Predict;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Knowledge distillation: the source run's trained model (<see cref="TrainingJob.SourceRun"/>) is loaded exactly,
/// frozen and in eval mode, and reads each of the student's batches under no_grad; the student (the run's model,
/// trained whole with layer-wise rates) minimises α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE(student, y).
/// <para>The teacher reads the student's batches, so it sees the same examples with the same augmentation draw; where
/// its per-channel mean and std differ, the batch is renormalised exactly. Other input differences are refused at launch
/// (<see cref="DistillationOptions.InputDifference"/>) and again here.</para>
/// </summary>
public sealed class DistillationStrategy : TrainingStrategy<DistillationOptions>
{
    /// <summary>Timed forward passes per model for the latency comparison (odd, so the median is one measurement).</summary>
    public const int LatencyRepeats = 51;

    TrainedModel? _teacher;
    SourceRunModel? _source;
    Tensor? _scale, _shift;
    string _input = "";
    double _lastAgreement = double.NaN;
    TeacherComparison? _comparison;

    public ZooModel Teacher => _teacher?.Model ?? throw new InvalidOperationException("Setup has not run.");

    public override void Setup(RunContext run)
    {
        var job = run.Job;
        _source = job.SourceRun ?? throw new InvalidOperationException("Distillation needs a teacher run (SourceRunId), and the job has none.");
        if (run.Architecture.Modality == Modality.Image
            && DistillationOptions.InputDifference(job.Model.Preprocessing, run.Training.ImageSize, _source.Model.Preprocessing, _source.ImageSize) is { } difference)
            throw new InvalidOperationException($"SourceRunId: run {_source.RunId}'s model reads images differently from this run's: {difference}.");
        _teacher = TrainedModel.Load(_source.WeightsPath, ArchitectureOptions.Of(_source.Model));
        if (_teacher.Model.NumClasses != run.Classes)
            throw new InvalidOperationException($"SourceRunId: run {_source.RunId}'s model predicts {_teacher.Model.NumClasses} classes and this run's dataset has {run.Classes}.");
        _teacher.Model.to(run.Device);
        _teacher.Model.eval();
        _input = run.Architecture.Modality == Modality.Text ? "the student's token ids (the same tokenizer)" : ImageInput(run);
    }

    /// <summary>Where the two per-channel normalisations differ, x_teacher = x_student · std_s/std_t + (mean_s − mean_t)/std_t,
    /// which is exact: both start from the same pixels in [0, 1] after the same resize, crop and augmentation.</summary>
    string ImageInput(RunContext run)
    {
        var s = run.Job.Model.Preprocessing;
        var t = _source!.Model.Preprocessing;
        if (s.Mean.SequenceEqual(t.Mean) && s.Std.SequenceEqual(t.Std)) return "the student's batches as they are (the same preprocessing)";
        var scale = s.Std.Zip(t.Std, (a, b) => (float)(a / b)).ToArray();
        var shift = Enumerable.Range(0, 3).Select(i => (float)((s.Mean[i] - t.Mean[i]) / t.Std[i])).ToArray();
        _scale = tensor(scale, [1, 3, 1, 1], device: CPU).to(run.Device);
        _shift = tensor(shift, [1, 3, 1, 1], device: CPU).to(run.Device);
        return "the student's batches renormalised to the teacher's mean and std";
    }

    Tensor TeacherInput(Tensor x) => _scale is null ? x : x * _scale + _shift!;

    /// <summary>The teacher's logits for a batch the student reads, without a graph.</summary>
    public Tensor TeacherLogits(Tensor x)
    {
        using var _ = no_grad();
        return Teacher.call(TeacherInput(x));
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay);
    }

    public override void BeginEpoch(RunContext run, int epoch)
    {
        run.Model.train();
        // The teacher stays in inference mode: its BatchNorm statistics and dropout are those it was tested with.
        Teacher.eval();
    }

    public override StepResult Step(RunContext run, StepInput input)
    {
        var logits = run.Model.call(input.Batch.X);
        var teacher = TeacherLogits(input.Batch.X);
        var kd = SoftTargetLoss(logits, teacher, Options.Temperature);
        var ce = run.CrossEntropy(logits, input.Batch.Y);
        var a = Options.Alpha;
        var T = Options.Temperature;
        var loss = kd * (a * T * T) + ce * (1 - a);
        return new StepResult(loss, logits, new Dictionary<string, double>
        {
            [DistillationOptions.KdLoss] = kd.item<float>(),
            [DistillationOptions.CeLoss] = ce.item<float>(),
        });
    }

    /// <summary>KL(softmax(teacher/T) ‖ softmax(student/T)), summed over classes and averaged over the batch
    /// (PyTorch's kl_div with reduction='batchmean'); gradients flow to the student only.</summary>
    public static Tensor SoftTargetLoss(Tensor student, Tensor teacher, double temperature)
    {
        var logTeacher = nn.functional.log_softmax(teacher / temperature, 1);
        var logStudent = nn.functional.log_softmax(student / temperature, 1);
        return (logTeacher.exp() * (logTeacher - logStudent)).sum(1).mean();
    }

    public override double ValidationScore(RunContext run, int epoch, EvaluationResult validation)
    {
        _lastAgreement = Compare(run, run.ValidationIndices).Agreement;
        return validation.Accuracy;
    }

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch) =>
        double.IsNaN(_lastAgreement) ? EmptyValues : new Dictionary<string, double> { [DistillationOptions.ValAgreement] = _lastAgreement };

    /// <summary>The teacher's accuracy on <paramref name="indices"/> and how often the student predicts its class.</summary>
    (double TeacherAccuracy, double Agreement) Compare(RunContext run, int[] indices)
    {
        if (indices.Length == 0) return (double.NaN, double.NaN);
        run.Model.eval();
        Teacher.eval();
        using var _ = no_grad();
        long teacherRight = 0, agree = 0;
        using var batches = run.Data.Eval(indices, Evaluator.BatchSize, run.Cancellation);
        for (int b = 0; b < batches.Count; b++)
        {
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            var t = TeacherLogits(batch.X).argmax(1);
            var s = run.Model.call(batch.X).argmax(1);
            teacherRight += t.eq(batch.Y).sum().item<long>();
            agree += t.eq(s).sum().item<long>();
        }
        return ((double)teacherRight / indices.Length, (double)agree / indices.Length);
    }

    /// <summary>With the weights the test will see: the teacher on the same test split, both sizes, and both latencies.</summary>
    public override void Finish(RunContext run)
    {
        var (teacherAccuracy, agreement) = Compare(run, run.TestIndices);
        var (teacherMs, studentMs) = MeasureLatency(run);
        _comparison = new TeacherComparison
        {
            TeacherRunId = _source!.RunId,
            TeacherModelId = _source.Model.Id,
            TeacherArchitecture = _teacher!.Architecture.Name,
            TeacherTestAccuracy = teacherAccuracy,
            TeacherRecordedTestAccuracy = _source.TestAccuracy,
            TeacherParameters = Teacher.ParameterCount(),
            StudentParameters = run.Model.ParameterCount(),
            TeacherWeightsBytes = new FileInfo(_source.WeightsPath).Length,
            StudentTensorBytes = run.Model.state_dict().Values.Sum(t => t.numel() * (t.is_floating_point() ? 4 : t.ElementSize)),
            TeacherLatencyMs = teacherMs,
            StudentLatencyMs = studentMs,
            LatencyRepeats = LatencyRepeats,
            LatencyDevice = $"CPU, {TorchRuntime.Threads} intra-op thread(s)",
            Agreement = agreement,
        };
    }

    /// <summary>Batch 1 on the CPU, one test example (or validation example) as the evaluation prepares it. Models on
    /// another device are moved to the CPU for the measurement and back after it.</summary>
    (double Teacher, double Student) MeasureLatency(RunContext run)
    {
        var indices = run.TestIndices.Length > 0 ? run.TestIndices : run.ValidationIndices;
        if (indices.Length == 0) return (double.NaN, double.NaN);
        using var batches = run.Data.Eval(indices[..1], 1, run.Cancellation);
        using var batch = batches.Next();
        var moved = run.Device.type != DeviceType.CPU;
        using var x = batch.X.cpu();
        using var scale = _scale?.cpu();
        using var shift = _shift?.cpu();
        using var converted = scale is null ? null : x * scale + shift!;
        var xt = converted ?? x;
        try
        {
            if (moved) { run.Model.to(CPU); Teacher.to(CPU); }
            run.Model.eval();
            Teacher.eval();
            var (teacherMs, studentMs) = PairedLatency.Measure(() => Teacher.call(xt), () => run.Model.call(x), LatencyRepeats);
            return (teacherMs, studentMs);
        }
        finally
        {
            if (moved) { run.Model.to(run.Device); Teacher.to(run.Device); }
        }
    }

    public override TeacherComparison? TeacherResult(RunContext run) => _comparison;

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = _source!;
        yield return new("Teacher", $"run {s.RunId}: {s.Model.Id} ({_teacher!.Architecture.Name}) fine-tuned on {s.DatasetId}" +
                                    (s.TestAccuracy is { } recorded ? $", test accuracy {recorded.ToString("P2", inv)} as its run recorded it" : ""));
        yield return new("Loss", $"α·T²·KL(teacher_T ‖ student_T) + (1−α)·CE with T = {Options.Temperature.ToString("G4", inv)}, α = {Options.Alpha.ToString("G4", inv)}");
        yield return new("Teacher input", _input);
        if (_comparison is { } c)
        {
            yield return new("Teacher on this test split", $"accuracy {c.TeacherTestAccuracy.ToString("P2", inv)}; the student agrees with it on {c.Agreement.ToString("P2", inv)} of the test examples");
            yield return new("Parameters", $"teacher {c.TeacherParameters.ToString("N0", inv)}, student {c.StudentParameters.ToString("N0", inv)} " +
                                           $"({((double)c.StudentParameters / c.TeacherParameters).ToString("0.##", inv)}× the teacher's)");
            yield return new("Latency", $"batch 1, {c.LatencyDevice}, median of {c.LatencyRepeats} interleaved: teacher {c.TeacherLatencyMs.ToString("0.##", inv)} ms, " +
                                        $"student {c.StudentLatencyMs.ToString("0.##", inv)} ms");
        }
        yield return new("Learning rates", PartialFineTuneStrategy.Rates(run.Model, run.Model.StageNames, Options.LayerwiseDecay, run.Training.LearningRate));
    }

    public override void Dispose()
    {
        _teacher?.Dispose();
        _scale?.Dispose();
        _shift?.Dispose();
        base.Dispose();
    }
}
