using ModelZoo.Core.Runs;
using TorchSharp;
using TorchSharp.Modules;

namespace ModelZoo.Torch.Training;

/// <summary>
/// The optimiser a run's settings describe, over a strategy's parameter groups. Each group is split in two: weights
/// (matrices and kernels) get weight decay, norms and biases (one-dimensional parameters) none, as timm's
/// <c>param_groups_weight_decay</c> and Hugging Face's Trainer do: decaying a BatchNorm scale or a bias towards zero
/// only fights the normalisation.
/// </summary>
public sealed class Optimization : IDisposable
{
    readonly (double Scale, ILearningRateControl Group)[] _groups;

    Optimization(OptimizerHelper optimizer, (double, ILearningRateControl)[] groups, IReadOnlyList<Parameter> parameters)
    {
        Optimizer = optimizer; _groups = groups; Parameters = parameters;
    }

    public OptimizerHelper Optimizer { get; }

    /// <summary>Every parameter the optimiser may update (frozen ones included: they simply have no gradient).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    public static Optimization Create(HyperParameters h, IReadOnlyList<ParameterGroupSpec> groups)
    {
        var split = new List<(double Scale, List<Parameter> Params, bool Decay)>();
        foreach (var g in groups)
        {
            var decay = g.Parameters.Where(p => p.dim() > 1).ToList();
            var noDecay = g.Parameters.Where(p => p.dim() <= 1).ToList();
            // Optimisers refuse empty groups.
            if (decay.Count > 0) split.Add((g.LearningRateScale, decay, true));
            if (noDecay.Count > 0) split.Add((g.LearningRateScale, noDecay, false));
        }
        if (split.Count == 0) throw new InvalidOperationException("The strategy gave the optimiser no parameters.");
        var wd = h.EffectiveWeightDecay;
        var lr = h.LearningRate;
        OptimizerHelper optimizer;
        ILearningRateControl[] controls;
        if (h.Optimizer == OptimizerKind.Sgd)
        {
            var pgs = split.Select(s => new SGD.ParamGroup(s.Params, new SGD.Options
            {
                LearningRate = lr * s.Scale, momentum = h.Momentum, dampening = 0, weight_decay = s.Decay ? wd : 0, nesterov = h.Nesterov, maximize = false,
            })).ToList();
            optimizer = torch.optim.SGD(pgs, lr, h.Momentum, 0, wd, h.Nesterov);
            controls = pgs.Select(p => (ILearningRateControl)new Control(p)).ToArray();
        }
        else
        {
            var pgs = split.Select(s => new AdamW.ParamGroup(s.Params, new AdamW.Options
            {
                LearningRate = lr * s.Scale, weight_decay = s.Decay ? wd : 0,
            })).ToList();
            optimizer = torch.optim.AdamW(pgs, lr);
            controls = pgs.Select(p => (ILearningRateControl)new Control(p)).ToArray();
        }
        return new Optimization(optimizer, split.Select((s, i) => (s.Scale, controls[i])).ToArray(),
            split.SelectMany(s => s.Params).ToList());
    }

    /// <summary>Sets every group's rate to base × the group's scale × <paramref name="factor"/> (the schedule's).</summary>
    public void SetRate(double baseRate, double factor)
    {
        foreach (var (scale, g) in _groups) g.LearningRate = baseRate * scale * factor;
    }

    public void Dispose() => Optimizer.Dispose();

    interface ILearningRateControl { double LearningRate { set; } }

    sealed class Control(ParamGroup group) : ILearningRateControl
    {
        public double LearningRate { set => group.LearningRate = value; }
    }
}

/// <summary>
/// The learning-rate factor at a step (a multiple of the base rate), as a pure function of the step: a resumed run
/// needs no scheduler state beyond its step count.
/// </summary>
public static class LearningRateSchedules
{
    /// <param name="step">Steps done before this one (0-based).</param>
    public static double Factor(LearningRateSchedule schedule, double warmupFraction, int step, int totalSteps)
    {
        if (totalSteps <= 0) return 1;
        var t = Math.Clamp((double)step / totalSteps, 0, 1);
        switch (schedule)
        {
            case LearningRateSchedule.Constant:
                return 1;
            case LearningRateSchedule.OneCycle:
            {
                // fastai's defaults: start at peak/25, rise for pct_start of the steps, fall to peak/(25·1e4), cosine both ways.
                var pct = warmupFraction > 0 ? warmupFraction : 0.25;
                const double start = 1 / 25.0, end = 1 / 25.0 / 1e4;
                if (t < pct) return Cosine(start, 1, t / pct);
                return Cosine(1, end, (t - pct) / (1 - pct));
            }
            default:
            {
                var warm = (int)Math.Round(warmupFraction * totalSteps);
                if (step < warm) return (step + 1.0) / (warm + 1.0);
                var rest = Math.Max(1, totalSteps - warm);
                var p = Math.Clamp((double)(step - warm) / rest, 0, 1);
                return 0.5 * (1 + Math.Cos(Math.PI * p));
            }
        }
    }

    static double Cosine(double from, double to, double p) => to + (from - to) * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(p, 0, 1)));
}
