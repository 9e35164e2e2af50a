using Microsoft.EntityFrameworkCore;
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
}
