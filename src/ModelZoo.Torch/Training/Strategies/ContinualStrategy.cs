using System.Globalization;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Task-incremental continual learning: the run's tasks in order, <c>Epochs</c> epochs each, on one backbone with a
/// head per task (<see cref="TaskHeads"/>; task 1 is the model's own classifier). Plain fine-tuning, Learning without
/// Forgetting or EWC. Everything that must outlive an epoch (head snapshots, LwF's frozen copy, EWC's Fisher and
/// anchors, the accuracy matrix) lives in extra modules, so a checkpoint carries it and a resumed run continues exactly.
/// </summary>
public sealed class ContinualStrategy : TrainingStrategy<ContinualOptions>
{
    TaskHeads? _heads;
    TensorStore? _snapshot;      // every head's parameters as they were when its task ended
    TensorStore? _results;       // the accuracy matrix, NaN where not measured
    TensorStore? _ewc;           // per finished task: Fisher and anchor of every backbone parameter
    ZooModel? _previous;         // LwF: the network as it was when the current task began
    TaskHeads? _previousHeads;
    int _task;                   // 0-based task of the current epoch
    // The parameters by name, listed once: every step restores the earlier heads and EWC walks the backbone.
    List<(string Name, TorchSharp.Modules.Parameter Parameter)> _headParameters = [], _backbone = [];

    public override ModelSelection Selection => ModelSelection.LastEpoch;

    public override IEnumerable<(string Name, nn.Module Module)> ExtraModules
    {
        get
        {
            if (_heads is null) yield break;
            yield return ("heads", _heads);
            yield return ("snapshot", _snapshot!);
            yield return ("results", _results!);
            if (_ewc is not null) yield return ("ewc", _ewc);
            if (_previous is not null) { yield return ("previous", _previous); yield return ("previous_heads", _previousHeads!); }
        }
    }

    public override IEnumerable<(string Prefix, nn.Module Module)> SavedModules => _heads is null ? [] : [("tasks", _heads)];

    TaskHeads Heads => _heads ?? throw new InvalidOperationException("Setup has not run.");
    int TaskCount(RunContext run) => run.Tasks.Count;
    int TaskOf(RunContext run, int epoch) => (epoch - 1) / run.Training.Epochs;
    bool FirstEpochOfTask(RunContext run, int epoch) => (epoch - 1) % run.Training.Epochs == 0;
    bool LastEpochOfTask(RunContext run, int epoch) => epoch % run.Training.Epochs == 0;

    public override int Epochs(RunContext run) => run.Training.Epochs * TaskCount(run);

    public override void Setup(RunContext run)
    {
        if (run.Tasks.Count < 2) throw new InvalidOperationException("Continual learning needs at least two datasets, one per task.");
        if (!run.Planning)
            foreach (var task in run.Tasks)
                if (task.Train.Length == 0) throw new InvalidOperationException($"Task dataset '{task.DatasetId}' has no training examples to learn from.");
        _heads = TaskHeads.For(run, 0xC047);
        _headParameters = ListHeadParameters(run);
        _backbone = ListBackboneParameters(run);
        _snapshot = new TensorStore("snapshot");
        foreach (var (name, p) in HeadParameters(run)) _snapshot.Add(name, p.shape, run.Device);
        _results = new TensorStore("results");
        _results.Add("matrix", [run.Tasks.Count, run.Tasks.Count], run.Device, float.NaN);
        if (Options.Method == ContinualMethod.Ewc)
        {
            _ewc = new TensorStore("ewc");
            for (int t = 0; t < run.Tasks.Count - 1; t++)
                foreach (var (name, p) in BackboneParameters(run))
                {
                    _ewc.Add($"fisher{t}.{name}", p.shape, run.Device);
                    _ewc.Add($"anchor{t}.{name}", p.shape, run.Device);
                }
        }
        if (Options.Method == ContinualMethod.LwF)
        {
            _previous = run.CopyOfModel();
            _previousHeads = TaskHeads.For(run, 0xC047);
            _previousHeads.eval();
            foreach (var p in _previousHeads.parameters()) p.requires_grad = false;
        }
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run)
    {
        foreach (var p in run.Model.parameters()) p.requires_grad = true;
        return
        [
            .. LayerwiseLearningRates.Groups(run.Model, run.Model.StageNames, Options.LayerwiseDecay),
            new ParameterGroupSpec("task-heads", Heads.parameters().ToList()),
        ];
    }

    public override IReadOnlyList<BatchStream> Streams(RunContext run, int epoch) =>
        [BatchStream.Of(run, run.Tasks[TaskOf(run, epoch)], BatchStream.LabelledName)];

    public override void BeginEpoch(RunContext run, int epoch)
    {
        _task = TaskOf(run, epoch);
        // A plan reads modes and groups only: no snapshots, copies or Fisher passes over data it does not have.
        if (FirstEpochOfTask(run, epoch) && _task > 0 && !run.Planning) BeginTask(run, _task);
        run.Model.train();
        Heads.train();
        // Earlier tasks' heads learn no more: no gradient is computed for them (their inputs still carry LwF's).
        foreach (var (name, p) in HeadParameters(run)) p.requires_grad = HeadTask(run, name) >= _task;
        run.Report($"Task {_task + 1} of {run.Tasks.Count}: learning '{run.Tasks[_task].DatasetId}'.");
    }

    /// <summary>The moment task <paramref name="k"/> begins: the heads learnt so far are kept as they are; LwF copies the
    /// network; EWC measures what the task just finished needs.</summary>
    void BeginTask(RunContext run, int k)
    {
        foreach (var (name, p) in HeadParameters(run)) _snapshot!.Capture(name, p);
        if (_previous is not null)
        {
            RunContext.CopyInto(run.Model, _previous);
            RunContext.CopyInto(Heads, _previousHeads!);
            _previous.eval();
        }
        if (_ewc is not null) EstimateFisher(run, k - 1);
    }

    public override StepResult Step(RunContext run, StepInput input)
    {
        RestoreEarlierHeads(run, _task);
        var batch = input.Batch;
        var pre = run.Model.ForwardHead(run.Model.ForwardFeatures(batch.X), preLogits: true);
        var logits = Heads.Logits(run.Model, _task, pre);
        var loss = _task == 0 ? run.CrossEntropy(logits, batch.Y)
            : nn.functional.cross_entropy(logits, batch.Y, label_smoothing: run.Training.LabelSmoothing);
        var values = new Dictionary<string, double>();
        if (_previous is not null && _task > 0 && Options.DistillationWeight > 0)
        {
            Tensor previousPre;
            using (no_grad()) previousPre = _previous.ForwardHead(_previous.ForwardFeatures(batch.X), preLogits: true);
            var t = Options.Temperature;
            Tensor? lwf = null;
            for (int i = 0; i < _task; i++)
            {
                Tensor target;
                using (no_grad()) target = nn.functional.softmax(_previousHeads!.Logits(_previous, i, previousPre) / t, 1);
                // Li & Hoiem's modified cross-entropy between the recorded and the current answers of old head i.
                var term = -(target * nn.functional.log_softmax(Heads.Logits(run.Model, i, pre) / t, 1)).sum(1).mean();
                lwf = lwf is null ? term : lwf + term;
            }
            values["lwf_loss"] = lwf!.item<float>();
            loss = loss + lwf * Options.DistillationWeight;
        }
        if (_ewc is not null && _task > 0 && Options.EwcLambda > 0)
        {
            Tensor? penalty = null;
            var backbone = BackboneParameters(run);
            for (int t = 0; t < _task; t++)
                foreach (var (name, p) in backbone)
                {
                    var term = (_ewc[$"fisher{t}.{name}"] * (p - _ewc[$"anchor{t}.{name}"]).pow(2)).sum();
                    penalty = penalty is null ? term : penalty + term;
                }
            penalty = penalty! * (Options.EwcLambda / 2);
            values["ewc_penalty"] = penalty.item<float>();
            loss = loss + penalty;
        }
        return new StepResult(loss, logits, values);
    }

    /// <summary>The loop validates the task being learnt, with its own head; the test split is task 1's (default).</summary>
    public override EvaluationSet Evaluation(RunContext run, Core.Datasets.DatasetSplit split)
    {
        if (split == Core.Datasets.DatasetSplit.Test) return base.Evaluation(run, split);
        var task = run.Tasks[_task];
        var k = _task;
        return EvaluationSet.Of(task, task.Validation, b => Heads.Predict(run.Model, k, b.X));
    }

    public override IReadOnlyDictionary<string, double> EpochValues(RunContext run, int epoch)
    {
        var values = new Dictionary<string, double> { ["task"] = _task + 1 };
        if (!LastEpochOfTask(run, epoch)) return values;
        // The task ends: every task learnt so far, tested with its own head, is a row of the accuracy matrix.
        RestoreEarlierHeads(run, _task);
        var row = new float[run.Tasks.Count];
        Array.Fill(row, float.NaN);
        for (int i = 0; i <= _task; i++)
        {
            var task = run.Tasks[i];
            var k = i;
            var acc = Evaluator.Run(run, this, EvaluationSet.Of(task, task.Test, b => Heads.Predict(run.Model, k, b.X))).Accuracy;
            row[i] = (float)acc;
            values[$"acc_t{i + 1}"] = acc;
        }
        using (no_grad()) _results!["matrix"][_task].copy_(tensor(row, device: run.Device));
        return values;
    }

    public override void Finish(RunContext run) => RestoreEarlierHeads(run, run.Tasks.Count - 1);

    public override IReadOnlyList<TaskResult> TaskResults(RunContext run) => Heads.Results(run, this);

    public override AccuracyMatrix? TaskMatrix(RunContext run)
    {
        var m = _results!["matrix"].cpu().data<float>().ToArray();
        int n = run.Tasks.Count;
        var rows = Enumerable.Range(0, n)
            .Select(j => (IReadOnlyList<double?>)Enumerable.Range(0, n).Select(i => float.IsNaN(m[j * n + i]) ? (double?)null : m[j * n + i]).ToList())
            .Where(r => r.Any(a => a is not null)).ToList();
        return new AccuracyMatrix(run.Tasks.Select(t => t.DatasetId).ToList(), rows);
    }

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        yield return new("Task order", string.Join(" → ", run.Tasks.Select((t, i) => $"{i + 1}: {t.DatasetId} ({t.Train.Length} training examples)")));
        yield return new("Epochs per task", run.Training.Epochs.ToString(CultureInfo.InvariantCulture));
        yield return new("Method", Options.Method switch
        {
            ContinualMethod.LwF => $"Learning without Forgetting: distillation weight {Options.DistillationWeight.ToString(CultureInfo.InvariantCulture)}, temperature {Options.Temperature.ToString(CultureInfo.InvariantCulture)}",
            ContinualMethod.Ewc => $"EWC: λ {Options.EwcLambda.ToString(CultureInfo.InvariantCulture)}, Fisher from {Options.FisherExamples} examples per finished task (labels drawn from the model's predictions)",
            _ => "plain fine-tuning (nothing protects the earlier tasks)",
        });
        if (TaskMatrix(run) is { AverageForgetting: { } f } matrix)
            yield return new("Average forgetting", $"{f * 100:0.0} points (final average accuracy {matrix.FinalAverage * 100:0.0} %)");
        yield return new("Model selection", "the last epoch (the test splits report the accuracy matrix and choose nothing)");
    }

    /// <summary>Diagonal Fisher information of the backbone for task <paramref name="t"/>: the mean over sampled training
    /// examples of the squared gradient of log p(y|x), y drawn from the model's own prediction (Kirkpatrick et al.'s
    /// Fisher, not the "empirical" one with the true labels), one example per backward pass, in eval mode.</summary>
    void EstimateFisher(RunContext run, int t)
    {
        var task = run.Tasks[t];
        run.Report($"EWC: estimating the Fisher information of task {t + 1} ('{task.DatasetId}') from {Math.Min(Options.FisherExamples, task.Train.Length)} examples.");
        var rng = new Random(TrainingSelection.Seed(run.Training.Seed, 0xF15E, t));
        var sample = task.Train.OrderBy(_ => rng.Next()).Take(Options.FisherExamples).Order().ToArray();
        var backbone = BackboneParameters(run);
        foreach (var (name, p) in backbone)
        {
            _ewc!.Capture($"anchor{t}.{name}", p);
            using (no_grad()) _ewc[$"fisher{t}.{name}"].zero_();
        }
        RestoreEarlierHeads(run, t + 1);
        run.Model.eval();
        var generator = new Generator((ulong)TrainingSelection.Seed(run.Training.Seed, 0xF15F, t), run.Device);
        using var batches = task.Source.Eval(sample, 1, run.Cancellation);
        for (int b = 0; b < batches.Count; b++)
        {
            run.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            foreach (var (_, p) in backbone) p.grad?.zero_();
            var logits = Heads.Predict(run.Model, t, batch.X);
            Tensor y;
            using (no_grad()) y = multinomial(nn.functional.softmax(logits.detach(), 1), 1, generator: generator).squeeze(1);
            var logLikelihood = -nn.functional.cross_entropy(logits, y);
            logLikelihood.backward();
            using (no_grad())
                foreach (var (name, p) in backbone)
                    if (p.grad is { } g) _ewc![$"fisher{t}.{name}"].add_(g.pow(2), alpha: 1.0 / sample.Length);
        }
        foreach (var (_, p) in backbone) p.grad?.zero_();
        generator.Dispose();
    }

    /// <summary>Puts back the heads of tasks before <paramref name="current"/> as they were when their task ended.</summary>
    void RestoreEarlierHeads(RunContext run, int current)
    {
        if (current == 0) return;
        foreach (var (name, p) in HeadParameters(run))
            if (HeadTask(run, name) < current) _snapshot!.RestoreInto(name, p);
    }

    /// <summary>Every head's parameters by a stable name: <c>model.&lt;classifier key&gt;</c> for task 1, <c>heads.…</c> for the others.</summary>
    List<(string Name, TorchSharp.Modules.Parameter Parameter)> HeadParameters(RunContext run) => _headParameters;

    List<(string Name, TorchSharp.Modules.Parameter Parameter)> ListHeadParameters(RunContext run) =>
    [
        .. run.Model.named_parameters().Where(np => np.name.StartsWith(run.Model.ClassifierPrefix + ".", StringComparison.Ordinal))
            .Select(np => ($"model.{np.name}", np.parameter)),
        .. Heads.named_parameters().Select(np => ($"heads.{np.name}", np.parameter)),
    ];

    /// <summary>The task a head parameter belongs to: 0 for the model's classifier, k for <c>heads.heads.(k-1).…</c>.</summary>
    static int HeadTask(RunContext run, string name) =>
        name.StartsWith("model.", StringComparison.Ordinal) ? 0 : int.Parse(name.Split('.')[2], CultureInfo.InvariantCulture) + 1;

    List<(string Name, TorchSharp.Modules.Parameter Parameter)> BackboneParameters(RunContext run) => _backbone;

    static List<(string Name, TorchSharp.Modules.Parameter Parameter)> ListBackboneParameters(RunContext run) =>
        run.Model.named_parameters().Where(np => !np.name.StartsWith(run.Model.ClassifierPrefix + ".", StringComparison.Ordinal)).ToList();

    public override void Dispose()
    {
        _heads?.Dispose();
        _snapshot?.Dispose();
        _results?.Dispose();
        _ewc?.Dispose();
        _previous?.Dispose();
        _previousHeads?.Dispose();
        base.Dispose();
    }
}
