// A Business Central-shaped model (API v2.0 names and types, API-FACTS §2): every entity set
// hangs under companies({id}); lastModifiedDateTime carries the ETag and is computed.
namespace bc;

entity Companies {
  key id                : UUID;
      systemVersion     : String(100);
      name              : String(30);
      displayName       : String(250);
      businessProfileId : String(250);
      systemCreatedAt   : Timestamp @cds.on.insert: $now @Core.Computed;
      items             : Composition of many Items on items.company = $self;
      customers         : Composition of many Customers on customers.company = $self;
      salesOrders       : Composition of many SalesOrders on salesOrders.company = $self;
}

aspect Modified {
  lastModifiedDateTime : Timestamp @cds.on.insert: $now @cds.on.update: $now @odata.etag @Core.Computed;
}

entity Items : Modified {
  key id                    : UUID;
      company               : Association to Companies;
      number                : String(20);
      displayName           : String(100);
      type                  : String(20) default 'Inventory';
      itemCategoryCode      : String(20);
      blocked               : Boolean default false;
      gtin                  : String(14);
      inventory             : Decimal(18, 5) default 0 @Core.Computed;
      unitPrice             : Decimal(18, 5) default 0;
      priceIncludesTax      : Boolean default false;
      unitCost              : Decimal(18, 5) default 0;
      baseUnitOfMeasureCode : String(10) default 'PCS';
}

entity Customers : Modified {
  key id           : UUID;
      company      : Association to Companies;
      number       : String(20);
      displayName  : String(100);
      type         : String(20) default 'Company';
      email        : String(80);
      phoneNumber  : String(30);
      city         : String(30);
      country      : String(10);
      currencyCode : String(10);
      blocked      : String(10) default '_x0020_';
      balanceDue   : Decimal(18, 5) default 0 @Core.Computed;
}

entity SalesOrders : Modified {
  key id                      : UUID;
      company                 : Association to Companies;
      number                  : String(20);
      externalDocumentNumber  : String(35);
      orderDate               : Date;
      customerId              : UUID;
      customerNumber          : String(20);
      customerName            : String(100);
      currencyCode            : String(10);
      status                  : String(20) default 'Draft';
      totalAmountIncludingTax : Decimal(18, 5) default 0 @Core.Computed;
      salesOrderLines         : Composition of many SalesOrderLines on salesOrderLines.document = $self;
}

entity SalesOrderLines {
  key id               : UUID;
      document         : Association to SalesOrders;
      sequence         : Integer;
      itemId           : UUID;
      lineType         : String(20) default 'Item';
      lineObjectNumber : String(20);
      description      : String(100);
      quantity         : Decimal(18, 5) default 0;
      unitPrice        : Decimal(18, 5) default 0;
}
