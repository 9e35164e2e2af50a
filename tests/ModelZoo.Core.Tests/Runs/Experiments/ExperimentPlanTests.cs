using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Experiments;

namespace ModelZoo.Core.Tests.Runs.Experiments;

public class ExperimentPlanTests
{
    static ExperimentRequest Request(int models = 2, int seeds = 3, IReadOnlyList<int>? budgets = null) => new()
    {
        Name = "Backbones on digits", DatasetId = "digits",
        Models = Enumerable.Range(0, models).Select(i => $"model{i}").ToList(),
        Strategies = [new StrategyChoice { Id = "feature-extraction" }, new StrategyChoice { Id = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 2 } }],
        Seeds = Enumerable.Range(1, seeds).ToList(), LabelBudgets = budgets,
        HyperParameters = new HyperParameters { Epochs = 4, LearningRate = 3e-4, Seed = 99, LabelsPerClass = 7 },
    };

    [Fact]
    public void ThePlan_IsModelsTimesStrategiesTimesBudgetsTimesSeeds_NestedSoACellsSeedsQueueTogether()
    {
        var plan = ExperimentPlan.Build(Request(budgets: [10, 50])).Plan.ShouldNotBeNull();
        plan.Runs.Count.ShouldBe(2 * 2 * 2 * 3);
        plan.Columns.Select(c => c.Label).ShouldBe([
            "feature-extraction · 10 per class", "feature-extraction · 50 per class",
            "partial-fine-tune (frozenStages 2) · 10 per class", "partial-fine-tune (frozenStages 2) · 50 per class"]);
        plan.Runs.Take(4).Select(r => (r.ModelId, r.Column, r.Seed)).ShouldBe([("model0", 0, 1), ("model0", 0, 2), ("model0", 0, 3), ("model0", 1, 1)]);
        plan.Runs.Select(r => (r.ModelId, r.Column, r.Seed)).Distinct().Count().ShouldBe(24, "every run has its own place");
    }

    [Fact]
    public void EachRun_TakesTheSharedSettings_WithItsOwnSeedBudgetStrategyAndOptions_AndAReadableName()
    {
        var plan = ExperimentPlan.Build(Request(budgets: [10])).Plan!;
        var run = plan.Runs.Single(r => r.ModelId == "model1" && r.Column == 1 && r.Seed == 2).Request;
        run.ModelId.ShouldBe("model1");
        run.DatasetId.ShouldBe("digits");
        run.Strategy.ShouldBe("partial-fine-tune");
        run.Options!["frozenStages"]!.GetValue<int>().ShouldBe(2);
        run.HyperParameters.Seed.ShouldBe(2, "the experiment's seed, not the shared settings' 99");
        run.HyperParameters.LabelsPerClass.ShouldBe(10);
        run.HyperParameters.Epochs.ShouldBe(4);
        run.HyperParameters.LearningRate.ShouldBe(3e-4);
        run.Name.ShouldBe("Backbones on digits: model1 · partial-fine-tune (frozenStages 2) · 10 per class · seed 2");
    }

    [Fact]
    public void WithoutLabelBudgets_EveryRunUsesEveryLabel()
    {
        var plan = ExperimentPlan.Build(Request(budgets: null)).Plan!;
        plan.Columns.Select(c => c.LabelBudget).ShouldBe([null, null]);
        plan.Runs.ShouldAllBe(r => r.Request.HyperParameters.LabelsPerClass == null, "the shared settings' budget of 7 is replaced by 'all'");
        plan.Runs.Count.ShouldBe(2 * 2 * 3);
    }

    [Fact]
    public void MoreThanTheCap_IsRefused_WithTheArithmetic()
    {
        var result = ExperimentPlan.Build(Request(models: 5, seeds: 21));
        result.Ok.ShouldBeFalse();
        result.Errors["Runs"].ShouldBe("5 models × 2 strategies × 1 label budgets × 21 seeds is 210 runs; an experiment holds at most 200.");
        ExperimentPlan.Build(Request(models: 5, seeds: 20)).Plan!.Runs.Count.ShouldBe(200, "exactly the cap is allowed");
    }

    [Fact]
    public void EmptyAndRepeatedChoices_AreErrorsOfTheirField()
    {
        var errors = ExperimentPlan.Build(new ExperimentRequest { Seeds = [] }).Errors;
        errors.Keys.ShouldBe(["DatasetId", "Models", "Strategies", "Seeds"], ignoreOrder: true);

        var repeated = ExperimentPlan.Build(Request() with
        {
            Models = ["a", "a"], Seeds = [1, 1], LabelBudgets = [5, 0],
            Strategies = [new StrategyChoice { Id = "scratch" }, new StrategyChoice { Id = "scratch" }],
        }).Errors;
        repeated["Models"].ShouldContain("'a' is listed twice");
        repeated["Seeds"].ShouldContain("Seed 1 is listed twice");
        repeated["Strategies"].ShouldContain("'scratch' is listed twice");
        repeated["LabelBudgets"].ShouldContain("at least 1");
    }

    [Fact]
    public void TheSameStrategyWithDifferentOptions_IsTwoColumns()
    {
        var plan = ExperimentPlan.Build(Request() with
        {
            Strategies = [new StrategyChoice { Id = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 1 } },
                          new StrategyChoice { Id = "partial-fine-tune", Options = new JsonObject { ["frozenStages"] = 3 } }],
        }).Plan.ShouldNotBeNull();
        plan.Columns.Count.ShouldBe(2);
    }

    [Fact]
    public void ARunsErrors_BecomeTheExperimentsFields_AndNameTheRun()
    {
        var request = Request(budgets: [10, 50]);
        var plan = ExperimentPlan.Build(request).Plan!;
        var run = plan.Runs.Single(r => r.ModelId == "model1" && r.Column == 3 && r.Seed == 3);
        var errors = plan.ErrorsOf(request, run, new Dictionary<string, string>
        {
            ["ModelId"] = "Unknown model.", ["Options.frozenStages"] = "Too deep.", ["HyperParameters.LabelsPerClass"] = "Too many.",
            ["HyperParameters.Epochs"] = "At least 1.", ["TargetDatasetId"] = "Needs a target.",
        });
        errors["Models[1]"].ShouldBe("Unknown model. (model1, partial-fine-tune (frozenStages 2) · 50 per class, seed 3)");
        errors["Strategies[1].Options.frozenStages"].ShouldStartWith("Too deep.");
        errors["LabelBudgets[1]"].ShouldStartWith("Too many.");
        errors["HyperParameters.Epochs"].ShouldStartWith("At least 1.");
        errors["Strategies[1].Id"].ShouldStartWith("Needs a target.");
    }
}
