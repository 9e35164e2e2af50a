using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Tests.Persistence;

public class MigrationTests
{
    [Fact]
    public async Task Migrations_CreateTheSchema_AndMatchTheModel()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mz-mig-{Guid.NewGuid():N}.db");
        try
        {
            await using var db = new ZooDbContext(new DbContextOptionsBuilder<ZooDbContext>().UseSqlite($"Data Source={file}").Options);
            await db.Database.MigrateAsync();
            (await db.Database.GetAppliedMigrationsAsync()).ShouldNotBeEmpty();
            db.Database.HasPendingModelChanges().ShouldBeFalse("every model change needs a migration");
            (await db.Runs.CountAsync()).ShouldBe(0);
            (await db.RunEvents.CountAsync()).ShouldBe(0);
            (await db.Latencies.CountAsync()).ShouldBe(0);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    /// <summary>Sweeps stored before experiments existed become experiments of kind 'sweep' with the same id, and
    /// their runs keep the link; rolled back, they return to their own table.</summary>
    [Fact]
    public async Task TheExperimentsMigration_CarriesSweepsAndTheirRunsLinksOver_AndBack()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mz-mig-{Guid.NewGuid():N}.db");
        try
        {
            await using var db = new ZooDbContext(new DbContextOptionsBuilder<ZooDbContext>().UseSqlite($"Data Source={file}").Options);
            var migrator = db.GetService<IMigrator>();
            await migrator.MigrateAsync("20261206202738_StrategiesMetricsResume");
            var sweep = Guid.Parse("0194a3b0-0000-7000-8000-0000000000aa");
            var run = Guid.Parse("0194a3b0-0000-7000-8000-0000000000bb");
            await db.Database.ExecuteSqlRawAsync(
                "INSERT INTO sweeps (Id, ModelId, DatasetId, RequestJson, CreatedAt) VALUES ({0}, 'resnet18.tv_in1k', 'digits', {1}, 638000000000000000);",
                sweep.ToString().ToUpperInvariant(), """{"modelId":"resnet18.tv_in1k","datasetId":"digits"}""");
            await db.Database.ExecuteSqlRawAsync(
                "INSERT INTO runs (Id, ModelId, DatasetId, Strategy, SweepId, RequestJson, Status, CreatedAt, CancelRequested, LastSeq, Resumes) " +
                "VALUES ({0}, 'resnet18.tv_in1k', 'digits', 'scratch', {1}, '{{}}', 'Queued', 638000000000000000, 0, 0, 0);", run.ToString().ToUpperInvariant(), sweep.ToString().ToUpperInvariant());

            await migrator.MigrateAsync();
            var experiment = await db.Experiments.SingleAsync();
            (experiment.Id, experiment.Kind, experiment.DatasetId, experiment.Name).ShouldBe((sweep, "sweep", "digits", "Sweep resnet18.tv_in1k on digits"));
            experiment.PlanJson.ShouldContain("resnet18.tv_in1k");
            (await db.Runs.SingleAsync()).ExperimentId.ShouldBe(sweep);

            await migrator.MigrateAsync("20261206202738_StrategiesMetricsResume");
            var back = await db.Database.SqlQueryRaw<string>("SELECT ModelId AS Value FROM sweeps WHERE Id = {0}", sweep.ToString().ToUpperInvariant()).SingleAsync();
            back.ShouldBe("resnet18.tv_in1k");
            (await db.Database.SqlQueryRaw<Guid?>("SELECT SweepId AS Value FROM runs").SingleAsync()).ShouldBe(sweep);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }

    /// <summary>Runs stored before accounts keep every field and belong to nobody (null owner: admins only manage
    /// them); rolled back, the accounts tables and owner columns go and the run stays.</summary>
    [Fact]
    public async Task TheAccountsMigration_LeavesEarlierRunsOwnedByNobody_AndRollsBack()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mz-mig-{Guid.NewGuid():N}.db");
        try
        {
            await using var db = new ZooDbContext(new DbContextOptionsBuilder<ZooDbContext>().UseSqlite($"Data Source={file}").Options);
            var migrator = db.GetService<IMigrator>();
            await migrator.MigrateAsync("20261207131328_CardVersions");
            var run = Guid.Parse("0194a3b0-0000-7000-8000-0000000000cc");
            await db.Database.ExecuteSqlRawAsync(
                "INSERT INTO runs (Id, ModelId, DatasetId, Strategy, RequestJson, Status, CreatedAt, CancelRequested, LastSeq, Resumes) " +
                "VALUES ({0}, 'resnet18.tv_in1k', 'digits', 'scratch', '{{}}', 'Queued', 638000000000000000, 0, 0, 0);", run.ToString().ToUpperInvariant());

            await migrator.MigrateAsync();
            var stored = await db.Runs.SingleAsync();
            (stored.Id, stored.ModelId, stored.OwnerId).ShouldBe((run, "resnet18.tv_in1k", (string?)null));
            (await db.Users.CountAsync()).ShouldBe(0);
            (await db.ApiTokens.CountAsync()).ShouldBe(0);

            await migrator.MigrateAsync("20261207131328_CardVersions");
            (await db.Database.SqlQueryRaw<string>("SELECT ModelId AS Value FROM runs").SingleAsync()).ShouldBe("resnet18.tv_in1k");
            (await db.Database.SqlQueryRaw<int>("SELECT COUNT(*) AS Value FROM sqlite_master WHERE name IN ('users', 'api_tokens')").SingleAsync()).ShouldBe(0);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            File.Delete(file);
        }
    }
}
