// Served where BC serves API v2.0: /v2.0/{tenant}/{environment}/api/v2.0 (API-FACTS §2.1).
using bc from '../db/schema';

@path: '/v2.0/c0ffee00-0b1d-4c0a-8e11-b0b0b0b0b0b0/production/api/v2.0'
service api {
  entity companies       as projection on bc.Companies;
  entity items           as projection on bc.Items;
  entity customers       as projection on bc.Customers;
  entity salesOrders     as projection on bc.SalesOrders;
  entity salesOrderLines as projection on bc.SalesOrderLines;
}
