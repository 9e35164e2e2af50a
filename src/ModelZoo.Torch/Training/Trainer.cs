using System.Diagnostics;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training.Strategies;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// The shared training loop: build the model, let the strategy decide what learns, train with AdamW, evaluate on
/// the validation split every epoch and on the test split at the end. Progress is reported every step.
/// </summary>
public sealed class Trainer(ArchitectureRegistry registry, IWeightsInitializer? weights = null, PipelineOptions? pipelineOptions = null) : IRunTrainer
{
    readonly PipelineOptions _pipelineOptions = pipelineOptions ?? new();

    const int EvalBatchSize = 256;

    public string Device => TorchRuntime.DeviceDescription;

    public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => Train(job, progress, ct, trained: null);

    /// <param name="trained">Sees the trained model (eval mode, after the test evaluation and after the job's
    /// weights file, if it names one, is saved) before it is disposed: pretraining saves its fp16 weights there, so it
    /// shares this loop rather than keeping a second one.</param>
    public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct, Action<ZooModel>? trained)
    {
        var h = job.Request.HyperParameters;
        var data = job.Data;
        var device = TorchRuntime.Device;
        var classes = data.Info.ClassNames.Count;

        // An entry without a classifier (a masked LM, a bare encoder) is fine-tuned as the classifier sharing its backbone.
        var architecture = registry.ForFineTuning(job.Model.Architecture);
        // A text model's config.json decides its sizes; read it before the seeded build so a bad file fails early.
        var configJson = job.Text?.ConfigPath is { } configPath ? File.ReadAllText(configPath) : null;
        // Seed, build and reset the head as one step, so the same seed always gives the same starting weights.
        IReadOnlyList<string> weightsNotes = [];
        var options = ArchitectureOptions.Of(job.Model) with { ConfigJson = configJson };
        // The entry's head size is its own (a masked LM's is its vocabulary); the classifier trained in its place gets
        // the dataset's classes from the start, so the import says "model 2", not "model 8000".
        if (architecture.Name != job.Model.Architecture) options = options with { NumClasses = classes };
        using var model = TorchRuntime.BuildSeeded(h.Seed, () =>
        {
            var m = registry.Create(architecture.Name, options);
            try
            {
                weightsNotes = weights?.Initialise(m, job) ?? [];
                m.ResetClassifier(classes);
            }
            catch { m.Dispose(); throw; }
            return m;
        });
        if (weightsNotes.Count > 0) progress.Status(new StatusChange(RunStatus.Running, "Training; weights: " + string.Join("; ", weightsNotes), Device));
        model.to(device);

        var strategy = TransferStrategies.For(job.Request.Strategy);
        strategy.Configure(model);
        var groups = strategy.OptimizerGroups(model, h.LearningRate);
        var trainable = groups.SelectMany(g => g.Parameters).ToList();
        using var optimizer = torch.optim.AdamW(
            groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters, new TorchSharp.Modules.AdamW.Options { LearningRate = g.LearningRate })));

        using var pipeline = BatchSources.For(job, architecture.Modality, model, device, _pipelineOptions, ct);
        var trainIdx = data.Split.Train;
        if (h.TrainLimit > 0 && h.TrainLimit < trainIdx.Length)
            trainIdx = Subsample(trainIdx, h.TrainLimit, h.Seed);

        int stepsPerEpoch = (trainIdx.Length + h.BatchSize - 1) / h.BatchSize;
        int totalSteps = stepsPerEpoch * h.Epochs;
        var rng = new Random(h.Seed);
        var total = Stopwatch.StartNew();
        var throughput = new RateWindow(20);
        var epochs = new List<EpochMetrics>();
        double bestVal = -1; int bestEpoch = 0; int globalStep = 0;

        for (int epoch = 1; epoch <= h.Epochs; epoch++)
        {
            var epochWatch = Stopwatch.StartNew();
            var order = (int[])trainIdx.Clone();
            rng.Shuffle(order);
            double lossSum = 0; long correct = 0; int seen = 0;
            strategy.SetTrainingMode(model);
            using var batches = pipeline.Train(order, h.BatchSize, epoch, h.Seed, h.Augment, ct);

            for (int s = 0; s < stepsPerEpoch; s++)
            {
                ct.ThrowIfCancellationRequested();
                var stepWatch = Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                using var batch = batches.Next();
                var (x, y) = (batch.X, batch.Y);
                Tensor logits;
                if (strategy.BackboneFrozen)
                {
                    // No graph through a frozen backbone: less memory, and the forward is all it costs.
                    Tensor features;
                    using (no_grad()) features = model.ForwardHead(model.ForwardFeatures(x), preLogits: true);
                    logits = model.ForwardClassifier(features);
                }
                else logits = model.call(x);

                var loss = nn.functional.cross_entropy(logits, y);
                var lossValue = loss.item<float>();
                if (!float.IsFinite(lossValue))
                    throw new TrainingDivergedException(
                        $"The loss became {(float.IsNaN(lossValue) ? "NaN" : "infinite")} at epoch {epoch}, step {s + 1}. " +
                        $"Lower the learning rate (it is {h.LearningRate:G4}) or check the data for invalid values.");
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();

                lossSum += lossValue * batch.Count;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += batch.Count;
                globalStep++;
                throughput.Add(batch.Count, stepWatch.Elapsed.TotalSeconds);
                var rate = throughput.Rate;
                double? eta = rate > 0 ? (totalSteps - globalStep) * h.BatchSize / rate : null;
                progress.Step(new StepProgress(epoch, s + 1, stepsPerEpoch, globalStep, totalSteps, lossValue,
                    groups[0].LearningRate, rate, eta));
            }

            ct.ThrowIfCancellationRequested();
            var (valLoss, valAcc, _) = Evaluate(model, pipeline, data.Split.Validation, classes, ct);
            var metrics = new EpochMetrics(epoch, h.Epochs, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen),
                valLoss, valAcc, epochWatch.Elapsed.TotalSeconds);
            epochs.Add(metrics);
            progress.Epoch(metrics);
            if (valAcc > bestVal) { bestVal = valAcc; bestEpoch = epoch; }
        }

        var (testLoss, testAcc, confusion) = Evaluate(model, pipeline, data.Split.Test, classes, ct);
        var perClass = Enumerable.Range(0, classes)
            .Select(c => { var row = confusion[c]; var n = row.Sum(); return n == 0 ? 0.0 : (double)row[c] / n; }).ToList();

        var result = new RunResult
        {
            TestAccuracy = testAcc,
            TestLoss = testLoss,
            BestValAccuracy = Math.Max(0, bestVal),
            BestEpoch = bestEpoch,
            TestExamples = data.Split.Test.Length,
            TrainExamples = trainIdx.Length,
            ValExamples = data.Split.Validation.Length,
            ClassNames = data.Info.ClassNames,
            PerClassAccuracy = perClass,
            ConfusionMatrix = confusion.Select(r => (IReadOnlyList<int>)r).ToList(),
            TrainSeconds = total.Elapsed.TotalSeconds,
            TotalParameters = model.ParameterCount(),
            TrainableParameters = trainable.Sum(p => p.numel()),
            TrainedArchitecture = architecture.Name,
            WeightsNotes = weightsNotes,
        };
        // Saved last, after the test evaluation: a cancelled or diverged run has thrown by now and leaves no file.
        if (job.WeightsFileName is not null)
            result = result with { TrainedWeights = TrainedWeightsWriter.Save(model, job, architecture.Name, configJson) };
        trained?.Invoke(model);
        return new TrainingOutcome(result, TorchRuntime.DeviceDescription, TorchRuntime.Threads, TorchRuntime.SoftwareVersions);
    }

    static (double Loss, double Accuracy, int[][] Confusion) Evaluate(
        ZooModel model, IBatchSource pipeline, int[] indices, int classes, CancellationToken ct)
    {
        var confusion = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        if (indices.Length == 0) return (double.NaN, 0, confusion);
        model.eval();
        using var _ = no_grad();
        double lossSum = 0; long correct = 0;
        using var batches = pipeline.Eval(indices, EvalBatchSize, ct);
        for (int b = 0; b < batches.Count; b++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            var (x, y) = (batch.X, batch.Y);
            var logits = model.call(x);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            var pred = logits.argmax(1).cpu().data<long>().ToArray();
            var truth = y.cpu().data<long>().ToArray();
            for (int i = 0; i < pred.Length; i++)
            {
                confusion[truth[i]][pred[i]]++;
                if (pred[i] == truth[i]) correct++;
            }
        }
        return (lossSum / indices.Length, (double)correct / indices.Length, confusion);
    }

    static int[] Subsample(int[] indices, int count, int seed)
    {
        var copy = (int[])indices.Clone();
        new Random(seed ^ 0x5EED).Shuffle(copy);
        var pick = copy[..count];
        Array.Sort(pick);
        return pick;
    }

    /// <summary>Samples per second over the last few steps: steadier than one step, quicker than the run average.</summary>
    sealed class RateWindow(int size)
    {
        readonly Queue<(int N, double Seconds)> _q = new();
        int _n; double _s;
        public void Add(int n, double seconds)
        {
            _q.Enqueue((n, seconds)); _n += n; _s += seconds;
            if (_q.Count > size) { var (on, os) = _q.Dequeue(); _n -= on; _s -= os; }
        }
        public double Rate => _s > 0 ? _n / _s : 0;
    }
}

/// <summary>Loads starting weights into a freshly built model (official or house weights). Absent: random init.</summary>
public interface IWeightsInitializer
{
    /// <returns>What loading did, for the run's log and card (the importer's messages); empty when nothing was loaded.</returns>
    IReadOnlyList<string> Initialise(ZooModel model, TrainingJob job);
}
