using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ModelZoo.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class LatencyMeasurements : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "latency_measurements",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ModelId = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Architecture = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Batch = table.Column<int>(type: "INTEGER", nullable: false),
                    InputSize = table.Column<int>(type: "INTEGER", nullable: false),
                    Threads = table.Column<int>(type: "INTEGER", nullable: false),
                    Device = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    MedianMs = table.Column<double>(type: "REAL", nullable: false),
                    P90Ms = table.Column<double>(type: "REAL", nullable: false),
                    Iterations = table.Column<int>(type: "INTEGER", nullable: false),
                    MeasuredAt = table.Column<long>(type: "INTEGER", nullable: false),
                    SoftwareVersions = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    OtherCpuPercent = table.Column<double>(type: "REAL", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_latency_measurements", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_latency_measurements_ModelId_MeasuredAt",
                table: "latency_measurements",
                columns: new[] { "ModelId", "MeasuredAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "latency_measurements");
        }
    }
}
